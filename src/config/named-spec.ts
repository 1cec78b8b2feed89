/**
 * Issue #19 SPEC words for databases by name, and the bastion rule:
 *   rds:NAME[/reader|/writer|/instance][:LOCAL_PORT]
 *   cache:NAME[/reader][:LOCAL_PORT]
 *   TARGET:rds:NAME…  /  TARGET:cache:NAME…       an explicit instance carries the session
 * Without TARGET the config's `bastion:` carries it; with neither, ERR_CONFIG_NO_BASTION names
 * both ways to set one.
 */
import { ConfigError, UsageError } from '../errors.js';
import { parseDbRef, type DbRef } from '../tunnel/forward-spec.js';
import { isValidPort } from './schema.js';

export interface NamedSpec {
  /** Target text before `rds:`/`cache:`, when given. */
  target?: string;
  db: DbRef;
  localPort?: number | 'auto';
}

/** Parse a SPEC word naming a database; undefined when the word has no `rds:`/`cache:` field. */
export function parseNamedSpec(word: string): NamedSpec | undefined {
  const parts = word.split(':');
  // `tag:K=V` and `ecs:…` targets carry their own colon.
  const at = parts.findIndex((p, i) => (p === 'rds' || p === 'cache') && i <= 2 && i < parts.length - 1);
  if (at < 0) return undefined;
  const target = at === 0 ? undefined : parts.slice(0, at).join(':');
  if (at === 1 && (target === 'tag' || target === 'ecs')) return undefined;
  const service = parts[at] as DbRef['service'];
  const rest = parts.slice(at + 1);
  const nameText = rest[0] ?? '';
  // `cache:6379` or `rds:db.internal:5432` keep their old meaning: a Name tag "cache"/"rds" (a
  // database id starts with a letter and has no dots).
  if (!/^[A-Za-z][A-Za-z0-9-]*(\/[a-z]+)?$/.test(nameText)) return undefined;
  const db = parseDbRef(service, nameText);
  const forms =
    service === 'rds' ? 'rds:NAME[/reader|/writer|/instance][:LOCAL_PORT]' : 'cache:NAME[/reader][:LOCAL_PORT]';
  if (db === undefined) throw new UsageError(`"${word}": "${nameText}" is not a ${service} name; expected ${forms}`);
  if (rest.length > 2) throw new UsageError(`"${word}" has too many ":" fields; expected [TARGET:]${forms}`);
  const spec: NamedSpec = { db, ...(target === undefined ? {} : { target }) };
  const local = rest[1];
  if (local !== undefined) {
    if (local === 'auto' || local === '0') spec.localPort = 'auto';
    else {
      const n = /^\d+$/.test(local) ? Number(local) : NaN;
      if (!isValidPort(n)) throw new UsageError(`local port "${local}" in "${word}" is not a port (1-65535)`);
      spec.localPort = n;
    }
  }
  return spec;
}

/** The error for a database forward with no instance to carry its session. */
export function noBastionError(forward: string, what: string): ConfigError {
  const message = `${what} needs an instance to carry the session: give the forward a target (\`forwards.${forward}.target: i-…\`, or on the command line TARGET:${what}), or set a default \`bastion: TARGET\` at the top of .tunnel.yaml`;
  return new ConfigError('ERR_CONFIG_NO_BASTION', message, [
    { path: `forwards.${forward}.target`, message: 'no target and no bastion', hint: 'set target: or bastion:' },
  ]);
}
