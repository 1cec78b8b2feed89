/**
 * `.tunnel.yaml` types, defaults and the structural validator.
 *
 * `validateLayer(value, source)` checks one document (a file, the environment or the flags) and
 * collects **every** problem with its position; `check.ts` does the cross-entry checks (target
 * aliases, group members, duplicate local ports) once the layers are merged. Unknown keys are
 * errors, with the closest valid key as hint: a typo must not silently drop a setting.
 */
import { isIP } from 'node:net';
import type { ConfigIssue } from '../errors.js';
import { DEFAULT_BIND, parseTargetRef } from '../tunnel/forward-spec.js';
import type { DbRef, TargetRef } from '../tunnel/forward-spec.js';
import { didYouMean } from './closest.js';
import { setOwn } from './own.js';
import { maskedExcerpt } from './text.js';
import { readNamedKeys, type BastionConfig } from './named-keys.js';
import { formatPath } from './source.js';
import type { ConfigPath, ConfigSource } from './source.js';

export interface ConfigDefaults {
  profile?: string;
  region?: string;
  /** SSM API endpoint URL (the emulator, a VPC endpoint). */
  endpoint?: string;
  /** Local addresses every forward binds unless it sets its own. */
  bind: string[];
  /** How long forwards may take to become ready (`--timeout`); also every AWS API call's deadline. */
  timeoutMs: number;
  /** HTTP(S) proxy for every AWS connection (API and data channel), over HTTP CONNECT. */
  proxy?: string;
}

/** A forward as written in the config; `target` is still unresolved text or an inline selector. */
export interface ForwardConfig {
  /**
   * A `targets` alias, an instance id, `tag:K=V`, or an inline `{ id | name | tags }`. Absent only
   * with `rds:`/`cache:` (issue #19): the config's `bastion:` carries the session.
   */
  target?: string | TargetRef;
  /** Issue #19 (named-keys.ts): a database by name; `remotePort` then comes from the service (0 = not given). */
  db?: DbRef;
  /** Issue #19: `bind: auto`. */
  bindAuto?: boolean;
  /** Issue #19: database user for IAM tokens; `iam: true` makes `tunnel run` add a token. */
  user?: string;
  iam?: boolean;
  /** Destination host as the target sees it (RDS endpoint, …); absent = the target itself. */
  host?: string;
  remotePort: number;
  /** Absent = remote port (10000 + port below 1024), falling back to a free one when busy. */
  localPort?: number | 'auto';
  bind?: string[];
  /** A fixed pool, `'auto'` (default, 1..4) or bounds for the automatic pool. */
  sessions?: number | 'auto' | { min: number; max: number };
  lazy?: boolean;
  idleTimeoutMs?: number;
  probe?: boolean;
  reason?: string;
  /** AWS profile and region for this forward (issue #15); override the target alias's and `defaults`. */
  profile?: string;
  region?: string;
}

/** One validated document; every section may be partial. */
export interface ConfigLayer {
  defaults: Partial<ConfigDefaults>;
  targets: Record<string, TargetRef>;
  forwards: Record<string, ForwardConfig>;
  groups: Record<string, string[]>;
  /** Issue #19: default target of `rds:`/`cache:` forwards without `target:`. */
  bastion?: BastionConfig;
  /** Where each entry came from (`forwards.db`, `defaults.bind`, …), for positions in later checks. */
  origins: Map<string, ConfigSource>;
}

/** The merged configuration the CLI works from. */
export interface TunnelConfig extends ConfigLayer {
  defaults: ConfigDefaults;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_SESSIONS = 32;

/** The configuration with nothing set: what every merge starts from (never mutated). */
export const DEFAULT_CONFIG: Readonly<TunnelConfig> = Object.freeze({
  defaults: Object.freeze({ bind: [...DEFAULT_BIND], timeoutMs: DEFAULT_TIMEOUT_MS }),
  targets: Object.freeze({}),
  forwards: Object.freeze({}),
  groups: Object.freeze({}),
  origins: new Map(),
});

export const TOP_KEYS = ['$schema', 'version', 'defaults', 'targets', 'forwards', 'groups', 'bastion'] as const;
export const DEFAULT_KEYS = ['profile', 'region', 'endpoint', 'bind', 'timeout', 'proxy'] as const;
export const FORWARD_KEYS = [
  'target',
  'host',
  'remotePort',
  'localPort',
  'bind',
  'sessions',
  'lazy',
  'idleTimeout',
  'probe',
  'reason',
  'profile',
  'region',
  'rds',
  'cache',
  'user',
  'iam',
] as const;
export const TARGET_KEYS = ['id', 'name', 'tags', 'profile', 'region'] as const;
/** The keys of a target mapping that say which instance (exactly one is required). */
const TARGET_SELECTOR_KEYS = ['id', 'name', 'tags'] as const;
const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** `profile:` / `region:` of a forward or target mapping (issue #15). */
function readAccount(
  v: Record<string, unknown>,
  path: ConfigPath,
  out: IssueList,
): { profile?: string; region?: string } {
  const a: { profile?: string; region?: string } = {};
  if (v['profile'] !== undefined) {
    const s = readString(v['profile'], [...path, 'profile'], out);
    if (s !== undefined) a.profile = s;
  }
  if (v['region'] !== undefined) {
    const s = readString(v['region'], [...path, 'region'], out);
    if (s !== undefined && !REGION_RE.test(s))
      out.add([...path, 'region'], `"${s}" is not an AWS region`, 'e.g. eu-west-1, us-east-1');
    else if (s !== undefined) a.region = s;
  }
  return a;
}

/** Forward, group and alias names: usable in SPECs, env var names and `{name.port}`. */
export const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Collects issues for one source. */
export class IssueList {
  readonly issues: ConfigIssue[] = [];
  constructor(readonly source: ConfigSource) {}
  add(path: ConfigPath, message: string, hint?: string, part: 'key' | 'value' = 'value'): void {
    this.issues.push({
      ...this.source.locate(path, part),
      path: formatPath(path),
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  // Strings are masked and shortened: the value may come from the wrong file (a .env, credentials).
  if (typeof v === 'string') return `string ${maskedExcerpt(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

function checkKeys(obj: Record<string, unknown>, path: ConfigPath, allowed: readonly string[], out: IssueList): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const hint = didYouMean(key, allowed, `valid keys: ${allowed.join(', ')}`);
    out.add([...path, key], `unknown key "${key}"`, hint, 'key');
  }
}

/** Parse a duration: a number of seconds, or text like `500ms`, `30s`, `5m`, `1h`. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

export function isValidPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

function readString(v: unknown, path: ConfigPath, out: IssueList): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  out.add(path, `expected a non-empty string, got ${typeName(v)}`);
  return undefined;
}

function readBool(v: unknown, path: ConfigPath, out: IssueList): boolean | undefined {
  if (typeof v === 'boolean') return v;
  out.add(path, `expected true or false, got ${typeName(v)}`);
  return undefined;
}

/** The longest timer Node can arm (2^31-1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_DURATION_MS = 2_147_483_647;

function readDuration(v: unknown, path: ConfigPath, out: IssueList): number | undefined {
  const ms = parseDuration(v);
  if (ms === undefined)
    out.add(path, `expected a duration, got ${typeName(v)}`, 'seconds as a number, or text like "500ms", "30s", "5m"');
  else if (ms > MAX_DURATION_MS) {
    out.add(
      path,
      `duration ${typeName(v)} is too long: the longest is 596h (2147483647 ms, about 24.8 days)`,
      'timers cannot be armed for longer; use a shorter duration',
    );
    return undefined;
  }
  return ms;
}

function readBind(v: unknown, path: ConfigPath, out: IssueList): string[] | undefined {
  const list =
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : v;
  if (!Array.isArray(list) || list.length === 0) {
    out.add(path, `expected an address or a list of addresses, got ${typeName(v)}`, 'e.g. [127.0.0.1, "::1"]');
    return undefined;
  }
  const result: string[] = [];
  list.forEach((a: unknown, i) => {
    const p = typeof v === 'string' ? path : [...path, i];
    if (typeof a !== 'string' || isIP(a) === 0) {
      out.add(
        p,
        `${typeName(a)} is not an IP address`,
        'bind takes IP literals such as 127.0.0.1 or ::1; quote IPv6 in YAML',
      );
    } else result.push(a);
  });
  if (result.length !== list.length) return undefined;
  // Two listeners on the same address and port cannot both exist: a repeated address (or a
  // wildcard next to an address it already covers) would fail later as "port already in use".
  const seen = new Set<string>();
  for (const a of result) {
    const wildcard = isIP(a) === 4 ? '0.0.0.0' : '::';
    if (seen.has(a)) {
      out.add(path, `address ${a} is listed twice`, 'list each address once');
      return undefined;
    }
    if (a !== wildcard && result.includes(wildcard)) {
      out.add(path, `${wildcard} already covers ${a}`, `list either ${wildcard} or specific addresses`);
      return undefined;
    }
    seen.add(a);
  }
  return result;
}

function readEndpoint(v: unknown, path: ConfigPath, out: IssueList): string | undefined {
  const s = readString(v, path, out);
  if (s === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    out.add(path, `"${s}" is not a URL`, 'e.g. https://ssm.eu-west-1.amazonaws.com or http://127.0.0.1:4566');
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    out.add(
      path,
      `endpoint must be http(s), got ${url.protocol}`,
      'plain http is accepted only for loopback (the emulator)',
    );
    return undefined;
  }
  return s;
}

function readPort(v: unknown, path: ConfigPath, out: IssueList): number | undefined {
  if (isValidPort(v)) return v;
  const hint =
    typeof v === 'string' && /^\d+$/.test(v)
      ? 'write the port as a number, without quotes'
      : 'ports are whole numbers from 1 to 65535';
  out.add(path, `${typeName(v)} is not a valid port`, hint);
  return undefined;
}

/** Ports below this need root on Linux: an implied local port (no LOCAL_PORT given) moves above it. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

function readLocalPort(v: unknown, path: ConfigPath, out: IssueList): number | 'auto' | undefined {
  if (v === 'auto') return 'auto';
  if (v === 0) {
    out.add(path, 'local port 0 is not allowed', 'write `auto` to let tunnel pick a free port');
    return undefined;
  }
  // Privileged ports (below 1024) are allowed, as in a SPEC: macOS and root may bind them; where
  // the OS refuses, the forward fails with ERR_TUNNEL_BIND_FAILED and says why.
  return readPort(v, path, out);
}

/** `targets.x` value or inline `forwards.y.target` object. */
export function readTarget(v: unknown, path: ConfigPath, out: IssueList): TargetRef | undefined {
  if (typeof v === 'string') {
    const ref = parseTargetRef(v);
    if (ref === undefined)
      out.add(path, `"${v}" is not a target`, 'an instance id (i-…, mi-…), a Name tag value, or tag:Key=Value');
    return ref;
  }
  if (!isRecord(v)) {
    out.add(path, `expected a target, got ${typeName(v)}`, 'an instance id, { name: … } or { tags: { Key: Value } }');
    return undefined;
  }
  checkKeys(v, path, TARGET_KEYS, out);
  const account = readAccount(v, path, out);
  const present = TARGET_SELECTOR_KEYS.filter((k) => v[k] !== undefined);
  if (present.length !== 1) {
    out.add(
      path,
      present.length === 0
        ? 'target needs one of id, name, tags'
        : `target has ${present.join(' and ')}; give only one`,
    );
    return undefined;
  }
  if (v['id'] !== undefined) {
    const id = readString(v['id'], [...path, 'id'], out);
    if (id !== undefined && parseTargetRef(id)?.kind !== 'id') {
      out.add(
        [...path, 'id'],
        `"${id}" is not an instance id`,
        'ids look like i-0123456789abcdef0 or mi-0123456789abcdef0',
      );
      return undefined;
    }
    return id === undefined ? undefined : { kind: 'id', id, ...account };
  }
  if (v['name'] !== undefined) {
    const name = readString(v['name'], [...path, 'name'], out);
    return name === undefined ? undefined : { kind: 'name', name, ...account };
  }
  const tags = v['tags'];
  if (!isRecord(tags) || Object.keys(tags).length === 0) {
    out.add(
      [...path, 'tags'],
      `expected a mapping of tag keys to values, got ${typeName(tags)}`,
      'e.g. { Role: db, Env: dev }',
    );
    return undefined;
  }
  const result: Record<string, string> = {};
  let ok = true;
  for (const [k, tv] of Object.entries(tags)) {
    if (typeof tv === 'string' || typeof tv === 'number' || typeof tv === 'boolean') setOwn(result, k, String(tv));
    else {
      out.add([...path, 'tags', k], `tag value must be text, got ${typeName(tv)}`);
      ok = false;
    }
  }
  return ok ? { kind: 'tags', tags: result, ...account } : undefined;
}

function readForward(v: unknown, path: ConfigPath, out: IssueList): ForwardConfig | undefined {
  if (!isRecord(v)) {
    out.add(path, `expected a mapping, got ${typeName(v)}`, 'e.g. { target: db, remotePort: 5432 }');
    return undefined;
  }
  checkKeys(v, path, FORWARD_KEYS, out);
  const at = (k: string): ConfigPath => [...path, k];
  const named = readNamedKeys(v, path, out);
  // A forward with rds:/cache: (even a malformed one) takes its target from bastion: and its port from the service.
  const wantsDb = v['rds'] !== undefined || v['cache'] !== undefined;
  let target: string | TargetRef | undefined;
  if (v['target'] === undefined) {
    if (!wantsDb) out.add(path, 'missing required key "target"', 'a targets alias or an instance id', 'key');
  } else if (typeof v['target'] === 'string') target = readString(v['target'], at('target'), out);
  else target = readTarget(v['target'], at('target'), out);
  let remotePort: number | undefined;
  if (v['remotePort'] === undefined) {
    if (!wantsDb) out.add(path, 'missing required key "remotePort"', 'the destination port, e.g. 5432', 'key');
    else remotePort = 0;
  } else remotePort = readPort(v['remotePort'], at('remotePort'), out);
  const f: Partial<ForwardConfig> = { ...named };
  if (v['host'] !== undefined) {
    const host = readString(v['host'], at('host'), out);
    if (host !== undefined && /[\s/]/.test(host))
      out.add(at('host'), `"${host}" is not a host name`, 'a DNS name or IP address, without scheme or path');
    else if (host !== undefined) f.host = host;
  }
  if (v['localPort'] !== undefined) {
    const lp = readLocalPort(v['localPort'], at('localPort'), out);
    if (lp !== undefined) f.localPort = lp;
  }
  if (v['bind'] === 'auto') f.bindAuto = true;
  else if (v['bind'] !== undefined) {
    const b = readBind(v['bind'], at('bind'), out);
    if (b !== undefined) f.bind = b;
  }
  if (v['sessions'] !== undefined) {
    const s = readSessions(v['sessions']);
    if (s !== undefined) f.sessions = s;
    else
      out.add(
        at('sessions'),
        `${typeName(v['sessions'])} is not a valid session count`,
        `auto, a whole number from 1 to ${MAX_SESSIONS}, or { min, max } with 1 <= min <= max <= ${MAX_SESSIONS}`,
      );
  }
  if (v['lazy'] !== undefined) {
    const b = readBool(v['lazy'], at('lazy'), out);
    if (b !== undefined) f.lazy = b;
  }
  if (v['probe'] !== undefined) {
    const b = readBool(v['probe'], at('probe'), out);
    if (b !== undefined) f.probe = b;
  }
  if (v['idleTimeout'] !== undefined) {
    const ms = readDuration(v['idleTimeout'], at('idleTimeout'), out);
    if (ms !== undefined) f.idleTimeoutMs = ms;
  }
  if (v['reason'] !== undefined) {
    const r = readString(v['reason'], at('reason'), out);
    if (r !== undefined) f.reason = r;
  }
  Object.assign(f, readAccount(v, path, out));
  // Entries with problems are kept, with placeholders for a broken target or remote port (the
  // config is rejected anyway: every issue fails it), so that the cross-entry checks such as
  // duplicate local ports still report the forward's other problems. A database forward
  // (`rds:`/`cache:`) may have no target: the config's `bastion:` carries it.
  if (target === undefined && named.db !== undefined) return { ...f, remotePort: remotePort ?? 0 };
  return { ...f, target: target ?? { kind: 'id', id: '' }, remotePort: remotePort ?? 0 };
}

function readDefaults(v: unknown, path: ConfigPath, out: IssueList): Partial<ConfigDefaults> {
  const d: Partial<ConfigDefaults> = {};
  if (!isRecord(v)) {
    out.add(path, `expected a mapping, got ${typeName(v)}`);
    return d;
  }
  checkKeys(v, path, DEFAULT_KEYS, out);
  const at = (k: string): ConfigPath => [...path, k];
  if (v['profile'] !== undefined) {
    const s = readString(v['profile'], at('profile'), out);
    if (s !== undefined) d.profile = s;
  }
  if (v['region'] !== undefined) {
    const s = readString(v['region'], at('region'), out);
    if (s !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(s))
      out.add(at('region'), `"${s}" is not an AWS region`, 'e.g. eu-west-1, us-east-1');
    else if (s !== undefined) d.region = s;
  }
  if (v['endpoint'] !== undefined) {
    const s = readEndpoint(v['endpoint'], at('endpoint'), out);
    if (s !== undefined) d.endpoint = s;
  }
  if (v['bind'] !== undefined) {
    const b = readBind(v['bind'], at('bind'), out);
    if (b !== undefined) d.bind = b;
  }
  if (v['timeout'] !== undefined) {
    const ms = readDuration(v['timeout'], at('timeout'), out);
    if (ms !== undefined) d.timeoutMs = ms;
  }
  if (v['proxy'] !== undefined) {
    const s = readString(v['proxy'], at('proxy'), out);
    if (s !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(s))
      out.add(at('proxy'), `"${s}" is not a proxy URL`, 'e.g. http://proxy.example.com:3128');
    else if (s !== undefined) d.proxy = s;
  }
  return d;
}

function readNamed<T>(
  v: unknown,
  section: string,
  out: IssueList,
  read: (value: unknown, path: ConfigPath) => T | undefined,
): Record<string, T> {
  const result: Record<string, T> = {};
  if (v === undefined || v === null) return result;
  if (!isRecord(v)) {
    out.add([section], `expected a mapping of names, got ${typeName(v)}`);
    return result;
  }
  for (const [name, entry] of Object.entries(v)) {
    if (!NAME_RE.test(name)) {
      out.add(
        [section, name],
        `"${name}" is not a valid name`,
        'names start with a letter and use letters, digits, - and _',
        'key',
      );
      continue;
    }
    const r = read(entry, [section, name]);
    if (r !== undefined) setOwn(result, name, r);
  }
  return result;
}

function readGroup(v: unknown, path: ConfigPath, out: IssueList): string[] | undefined {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) {
    out.add(path, `expected a list of forward or group names, got ${typeName(v)}`, 'e.g. [db, cache]');
    return undefined;
  }
  const names: string[] = [];
  list.forEach((m: unknown, i) => {
    if (typeof m === 'string' && m !== '') names.push(m);
    else out.add([...path, i], `expected a forward or group name, got ${typeName(m)}`);
  });
  return names.length === list.length ? names : undefined;
}

/**
 * Validate one document structurally. Returns the layer and the issues found (possibly none);
 * the caller decides when to throw, so issues of several files end up in one error.
 */
export function validateLayer(source: ConfigSource): { layer: ConfigLayer; issues: ConfigIssue[] } {
  const out = new IssueList(source);
  const layer: ConfigLayer = { defaults: {}, targets: {}, forwards: {}, groups: {}, origins: new Map() };
  const v = source.value;
  if (v === null || v === undefined) return { layer, issues: [] };
  if (!isRecord(v)) {
    out.add([], `the config must be a mapping, got ${typeName(v)}`, 'start with `forwards:` (see `tunnel init`)');
    return { layer, issues: out.issues };
  }
  checkKeys(v, [], TOP_KEYS, out);
  if (v['version'] !== undefined && v['version'] !== 1)
    out.add(['version'], `unsupported config version ${typeName(v['version'])}`, 'this tunnel reads version 1');
  if (v['defaults'] !== undefined && v['defaults'] !== null) {
    layer.defaults = readDefaults(v['defaults'], ['defaults'], out);
    for (const k of Object.keys(layer.defaults)) layer.origins.set(`defaults.${k}`, source);
  }
  layer.targets = readNamed(v['targets'], 'targets', out, (e, p) => readTarget(e, p, out));
  layer.forwards = readNamed(v['forwards'], 'forwards', out, (e, p) => readForward(e, p, out));
  layer.groups = readNamed(v['groups'], 'groups', out, (e, p) => readGroup(e, p, out));
  if (v['bastion'] !== undefined) {
    const b = v['bastion'];
    const bastion = typeof b === 'string' ? readString(b, ['bastion'], out) : readTarget(b, ['bastion'], out);
    if (bastion !== undefined) {
      layer.bastion = bastion;
      layer.origins.set('bastion', source);
    }
  }
  // Declared names are recorded even when their entry is broken, so that cross-entry checks
  // do not add a second, misleading "unknown name" issue for them.
  for (const section of ['targets', 'forwards', 'groups'] as const) {
    const raw = v[section];
    if (isRecord(raw)) for (const name of Object.keys(raw)) layer.origins.set(`${section}.${name}`, source);
  }
  return { layer, issues: out.issues };
}

/** `sessions`: `auto`, a whole number 1..MAX_SESSIONS, or `{ min, max }` within the same range. */
function readSessions(s: unknown): number | 'auto' | { min: number; max: number } | undefined {
  const count = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_SESSIONS;
  if (s === 'auto') return 'auto';
  if (count(s)) return s;
  if (typeof s === 'object' && s !== null && !Array.isArray(s)) {
    const o = s as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.every((k) => k === 'min' || k === 'max') && count(o['min']) && count(o['max']) && o['min'] <= o['max'])
      return { min: o['min'], max: o['max'] };
  }
  return undefined;
}
