/**
 * Issue #19 keys of a forward and of the top level, read by `schema.ts`:
 *   forwards.X.rds: NAME[/reader|/writer|/instance]   a DB instance or Aurora cluster by id
 *   forwards.X.cache: NAME[/reader]                   an ElastiCache replication group / serverless cache
 *   forwards.X.user: NAME                              database user for IAM auth tokens
 *   forwards.X.iam: true                               `tunnel run` adds TUNNEL_X_TOKEN / TUNNEL_X_USER
 *   forwards.X.bind: auto                              a free 127.0.0.x of its own (Linux)
 *   bastion: TARGET                                     default target of rds:/cache: forwards
 */
import type { DbRef, TargetRef } from '../tunnel/forward-spec.js';
import { parseDbRef } from '../tunnel/forward-spec.js';
import type { ConfigPath } from './source.js';
import type { IssueList } from './schema.js';

export interface NamedForwardKeys {
  db?: DbRef;
  user?: string;
  iam?: boolean;
}

const DB_HINT: Record<DbRef['service'], string> = {
  rds: 'a DB instance or Aurora cluster id, optionally with /reader, /writer or /instance',
  cache: 'an ElastiCache replication group id or serverless cache name, optionally with /reader',
};

/** PostgreSQL/MySQL user names: no spaces or control characters; 1..63 characters. */
const USER_RE = /^[^\s\p{Cc}]{1,63}$/u;

export function readNamedKeys(v: Record<string, unknown>, path: ConfigPath, out: IssueList): NamedForwardKeys {
  const keys: NamedForwardKeys = {};
  const present = (['rds', 'cache'] as const).filter((k) => v[k] !== undefined);
  if (present.length === 2) out.add([...path, 'cache'], 'a forward has either rds: or cache:, not both');
  for (const service of present) {
    const raw = v[service];
    const ref = typeof raw === 'string' ? parseDbRef(service, raw) : undefined;
    if (ref === undefined)
      out.add([...path, service], `${JSON.stringify(raw)} is not a ${service} name`, DB_HINT[service]);
    else if (keys.db === undefined) keys.db = ref;
  }
  if (keys.db !== undefined && v['host'] !== undefined)
    out.add([...path, 'host'], `host: and ${keys.db.service}: both name the destination`, 'keep one of them');
  if (v['user'] !== undefined) {
    const u = v['user'];
    if (typeof u === 'string' && USER_RE.test(u)) keys.user = u;
    else out.add([...path, 'user'], `${JSON.stringify(u)} is not a database user name`, 'e.g. user: app_readonly');
  }
  if (v['iam'] !== undefined) {
    if (typeof v['iam'] === 'boolean') keys.iam = v['iam'];
    else out.add([...path, 'iam'], `expected true or false, got ${JSON.stringify(v['iam'])}`);
  }
  if (keys.iam === true && keys.user === undefined)
    out.add(path, 'iam: true needs user: (the database user the token is for)', 'e.g. user: app', 'key');
  return keys;
}

/** `bastion:` is a target like `forwards.X.target` (alias, id, tag:K=V, Name, or inline mapping). */
export type BastionConfig = string | TargetRef;
