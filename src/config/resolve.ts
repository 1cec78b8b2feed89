/**
 * From config entries and command-line SPECs to the engine's `ForwardSpec`s.
 *
 * SPEC grammar (one command-line word):
 *   NAME                                   a forward or group from the config
 *   TARGET:REMOTE_PORT[:LOCAL_PORT]        port on the target itself
 *   TARGET:HOST:REMOTE_PORT[:LOCAL_PORT]   HOST as seen from the target (ToRemoteHost)
 * TARGET is a `targets` alias, an instance id, `tag:K=V[,K=V]`, or a Name tag value. HOST may be
 * an IPv6 literal in brackets. LOCAL_PORT may be `auto`. Without LOCAL_PORT the local port is
 * the remote one (10000 + port below 1024) and a busy port falls back to a free one.
 */
import { ConfigError, UsageError } from '../errors.js';
import { parseTargetRef, targetRefProblem } from '../tunnel/forward-spec.js';
import type { ForwardSpec, TargetRef } from '../tunnel/forward-spec.js';
import { envName } from './check.js';
import { didYouMean } from './closest.js';
import { expandGroup } from './groups.js';
import { own } from './own.js';
import { shortText } from './text.js';
import { noBastionError, parseNamedSpec } from './named-spec.js';
import { FIRST_UNPRIVILEGED_PORT, isValidPort } from './schema.js';
import type { ForwardConfig, TunnelConfig } from './schema.js';

/** The local port used when none is given: the remote port, moved above 1024 when privileged. */
export function impliedLocalPort(remotePort: number): number {
  return remotePort < FIRST_UNPRIVILEGED_PORT ? 10_000 + remotePort : remotePort;
}

/** Alias from `targets`, else id / `tag:` / Name tag text. */
export function resolveTarget(config: TunnelConfig, target: string | TargetRef): TargetRef {
  if (typeof target !== 'string') return target;
  const alias = own(config.targets, target);
  if (alias !== undefined) return alias;
  const ref = parseTargetRef(target);
  if (ref === undefined)
    throw new UsageError(
      `${targetRefProblem(target) ?? `"${shortText(target)}" is not a target`} (instance id, Name tag value, tag:Key=Value, ecs:…, or a targets alias)`,
    );
  return ref;
}

/** Issue #19: the forward's own target, else the config's `bastion:`, else ERR_CONFIG_NO_BASTION. */
export function targetOrBastion(
  config: TunnelConfig,
  target: string | TargetRef | undefined,
  forward: string,
  what: string,
): TargetRef {
  if (target !== undefined) return resolveTarget(config, target);
  if (config.bastion !== undefined) return resolveTarget(config, config.bastion);
  throw noBastionError(forward, what);
}

/** The engine spec of a configured forward. */
export function forwardSpecOf(config: TunnelConfig, name: string, f: ForwardConfig): ForwardSpec {
  const what = f.db === undefined ? name : `${f.db.service}:${f.db.name}`;
  const spec: ForwardSpec = {
    name,
    target: targetOrBastion(config, f.target, name, what),
    remotePort: f.remotePort,
    // remotePort 0: a database by name whose port is known once resolved (cli/named.ts).
    localPort: f.localPort ?? (f.remotePort === 0 ? 'auto' : impliedLocalPort(f.remotePort)),
    bind: [...(f.bind ?? config.defaults.bind)],
  };
  if (f.localPort === undefined) spec.allowBusyFallback = true;
  if (f.db !== undefined) spec.db = f.db;
  if (f.bindAuto === true) spec.bindAuto = true;
  if (f.user !== undefined) spec.dbUser = f.user;
  if (f.iam !== undefined) spec.iam = f.iam;
  if (f.host !== undefined) spec.remoteHost = f.host;
  if (f.sessions !== undefined) spec.sessions = f.sessions;
  if (f.lazy !== undefined) spec.lazy = f.lazy;
  if (f.idleTimeoutMs !== undefined) spec.idleTimeoutMs = f.idleTimeoutMs;
  if (f.probe !== undefined) spec.probe = f.probe;
  if (f.reason !== undefined) spec.reason = f.reason;
  return withAccount(spec, f);
}

/**
 * Profile and region of a spec (issue #15): the forward's own, else its target alias's; absent
 * means `defaults` (the manager's settings). The target keeps no copy: the spec carries them.
 */
export function withAccount(spec: ForwardSpec, f?: { profile?: string; region?: string }): ForwardSpec {
  const { profile, region, ...target } = spec.target;
  const p = f?.profile ?? profile;
  const r = f?.region ?? region;
  spec.target = target;
  if (p !== undefined) spec.profile = p;
  if (r !== undefined) spec.region = r;
  return spec;
}

/** Forward names of `name` (a forward, or a group expanded once, without duplicates), in config order. */
export function expandName(config: TunnelConfig, name: string): string[] {
  const names = expandGroup(config.forwards, config.groups, name);
  if (names !== undefined) return names;
  const all = [...Object.keys(config.forwards), ...Object.keys(config.groups)];
  const hint = didYouMean(
    name,
    all,
    all.length === 0 ? 'the config defines no forwards; run `tunnel init`' : `known: ${all.join(', ')}`,
  );
  throw new ConfigError(
    'ERR_CONFIG_UNKNOWN_FORWARD',
    `no forward or group named "${shortText(name)}"${hint === undefined ? '' : `; ${hint}`}`,
    [{ path: `forwards.${shortText(name)}`, message: 'not defined', ...(hint === undefined ? {} : { hint }) }],
  );
}

/** Specs for the named forwards/groups (all forwards when `names` is empty), without duplicates. */
export function selectForwards(config: TunnelConfig, names: readonly string[]): ForwardSpec[] {
  const wanted = names.length === 0 ? Object.keys(config.forwards) : names.flatMap((n) => expandName(config, n));
  const unique = [...new Set(wanted)];
  return unique.map((n) => {
    const f = own(config.forwards, n);
    if (f === undefined) throw new ConfigError('ERR_CONFIG_UNKNOWN_FORWARD', `no forward named "${n}"`);
    return forwardSpecOf(config, n, f);
  });
}

export interface ParsedSpec {
  target: string;
  host?: string;
  remotePort: number;
  localPort?: number | 'auto';
}

function parsePortText(text: string, what: string, spec: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!isValidPort(n))
    throw new UsageError(
      `${what} "${shortText(text)}" in "${shortText(spec)}" is not a port (1-65535)${
        what === 'local port' ? '; write auto for any free port' : ''
      }`,
    );
  return n;
}

/** Split a `TARGET:[HOST:]REMOTE[:LOCAL]` word; undefined when it has no colon (a config name). */
export function parseSpecText(spec: string): ParsedSpec | undefined {
  const shown = shortText(spec);
  // Pull out a bracketed IPv6 host first so its colons do not count as separators. A zone id
  // (`fe80::1%eth0`) is kept: it names an interface on the target, where the agent dials.
  const open = spec.indexOf('[');
  const close = spec.indexOf(']');
  if (open >= 0 && close < open)
    throw new UsageError(`"${shown}" has an unclosed "["; write IPv6 hosts in brackets, e.g. demo:[fd00::5]:5432`);
  if (open < 0 && close >= 0) throw new UsageError(`"${shown}" has a "]" without "["`);
  const v6 = /\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?)\]/.exec(spec);
  if (open >= 0 && (v6 === null || v6.index !== open))
    throw new UsageError(
      `"${shown}" has "[…]" that is not an IPv6 address; write IPv6 hosts in brackets, e.g. demo:[fd00::5]:5432`,
    );
  const masked = v6 === null ? spec : spec.replace(v6[0], '\u0000');
  if (masked.includes('[') || masked.includes(']')) throw new UsageError(`"${shown}" has more than one "[…]"`);
  if (!masked.includes(':')) return undefined;
  const parts = masked.split(':').map((p) => (p === '\u0000' && v6 !== null ? (v6[1] ?? '') : p));
  // `tag:K=V` and `ecs:…` targets carry their own colon: glue it back on.
  if ((parts[0] === 'tag' || parts[0] === 'ecs') && parts.length > 2)
    parts.splice(0, 2, `${parts[0]}:${parts[1] ?? ''}`);
  const [target, ...rest] = parts;
  if (target === undefined || target === '') throw new UsageError(`"${shown}" has no target before the first ":"`);
  if (rest.some((p) => p === ''))
    throw new UsageError(`"${shown}" has an empty field; expected TARGET:[HOST:]REMOTE_PORT[:LOCAL_PORT]`);
  const isNum = (s: string | undefined): boolean => s !== undefined && /^\d+$/.test(s);
  // `0` is refused as in the config (`localPort: 0`): `auto` says what it means.
  const local = (s: string): number | 'auto' => (s === 'auto' ? 'auto' : parsePortText(s, 'local port', spec));
  let host: string | undefined;
  let remote: string | undefined;
  let localText: string | undefined;
  if (rest.length === 1) remote = rest[0];
  else if (rest.length === 2 && isNum(rest[0])) [remote, localText] = rest;
  else if (rest.length === 2) [host, remote] = rest;
  else if (rest.length === 3) [host, remote, localText] = rest;
  else
    throw new UsageError(
      `"${shown}" has too many ":" fields; expected TARGET:[HOST:]REMOTE_PORT[:LOCAL_PORT] (bracket IPv6 hosts)`,
    );
  if (remote === undefined) throw new UsageError(`"${shown}" has no remote port`);
  const parsed: ParsedSpec = { target, remotePort: parsePortText(remote, 'remote port', spec) };
  if (host !== undefined) parsed.host = host;
  if (localText !== undefined) parsed.localPort = local(localText);
  return parsed;
}

/**
 * Command-line words to specs: SPECs become ad-hoc forwards, bare names expand from the config.
 * Ad-hoc forwards are named after their target (`db`), or `target-port` when one target is used
 * for several ports, so `run` can offer `TUNNEL_DB_PORT` and `{db.port}`.
 */
export function specsFromWords(config: TunnelConfig, words: readonly string[]): ForwardSpec[] {
  const result: ForwardSpec[] = [];
  const names = new Set<string>();
  const named = words.map((w) => ({ word: w, named: parseNamedSpec(w) }));
  for (const { named: n } of named) {
    if (n === undefined) continue;
    let name = adHocName(`${n.db.name}${n.db.endpoint === 'reader' ? '-reader' : ''}`);
    for (let i = 2; names.has(name); i++) name = `${adHocName(n.db.name)}-${i}`;
    names.add(name);
    const what = `${n.db.service}:${n.db.name}`;
    const f: ForwardSpec = {
      name,
      target: targetOrBastion(config, n.target, name, what),
      remotePort: 0,
      localPort: n.localPort ?? 'auto',
      bind: [...config.defaults.bind],
      db: n.db,
    };
    if (n.localPort === undefined) f.allowBusyFallback = true;
    result.push(f);
  }
  return [
    ...result,
    ...plainSpecs(
      config,
      named.filter((n) => n.named === undefined).map((n) => n.word),
      names,
    ),
  ];
}

function plainSpecs(config: TunnelConfig, words: readonly string[], names: Set<string>): ForwardSpec[] {
  const parsed = words.map((w) => ({ word: w, spec: parseSpecText(w) }));
  const targetCount = new Map<string, number>();
  for (const p of parsed)
    if (p.spec !== undefined) targetCount.set(p.spec.target, (targetCount.get(p.spec.target) ?? 0) + 1);
  const result: ForwardSpec[] = [];
  for (const { word, spec } of parsed) {
    if (spec === undefined) {
      if (own(config.forwards, word) === undefined && own(config.groups, word) === undefined) {
        const all = [...Object.keys(config.forwards), ...Object.keys(config.groups)];
        // The word is echoed once, shortened: it may be 5,000 characters of anything.
        const w = shortText(word);
        const hint =
          didYouMean(word, all) ??
          (w === word ? `to forward a port of target "${w}", write ${w}:PORT` : 'to forward a port, write TARGET:PORT');
        throw new ConfigError(
          'ERR_CONFIG_UNKNOWN_FORWARD',
          `no forward or group named "${w}" in the configuration; ${hint}`,
          [{ path: `forwards.${w}`, message: 'not defined', hint }],
        );
      }
      for (const s of selectForwards(config, [word])) {
        if (!names.has(s.name)) result.push(s);
        names.add(s.name);
      }
      continue;
    }
    let name = adHocName(spec.target);
    if ((targetCount.get(spec.target) ?? 0) > 1 || names.has(name)) name = `${name}-${spec.remotePort}`;
    for (let i = 2; names.has(name); i++) name = `${adHocName(spec.target)}-${spec.remotePort}-${i}`;
    names.add(name);
    const bind = [...config.defaults.bind];
    const f: ForwardSpec = {
      name,
      target: resolveTarget(config, spec.target),
      remotePort: spec.remotePort,
      localPort: spec.localPort ?? impliedLocalPort(spec.remotePort),
      bind,
    };
    if (spec.localPort === undefined) f.allowBusyFallback = true;
    if (spec.host !== undefined) f.remoteHost = spec.host;
    result.push(withAccount(f));
  }
  return result;
}

/** A forward name from target text: `tag:Role=db` → `Role-db`, `i-0abc` stays. */
function adHocName(target: string): string {
  const base = target
    .replace(/^tag:/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return /^[A-Za-z]/.test(base) ? base : `t-${base}`;
}

export { envName };
