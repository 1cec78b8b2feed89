/**
 * Emulator settings: what `startEmulator(options)` and `tunnel emulator --config` accept, their
 * defaults, and the YAML/JSON config-file loader.
 *
 * Everything here is plain data. `resolveEmulatorOptions` fills defaults once, so the API, the
 * gateway and the agent all read the same resolved values.
 */
import { randomBytes } from 'node:crypto';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { systemClock, type Clock } from '../clock.js';
import { EmulatorError } from '../errors.js';
import { readSmallTextFile } from '../files.js';
import {
  resolveIdentitySettings,
  type IdentitySettings,
  type ResolvedIdentitySettings,
} from './identity/identity-store.js';
import { databaseIssues, resolveDatabases, type DatabaseSettings, type ResolvedDatabases } from './databases.js';
import { isLoopbackName } from '../loopback.js';
import { AGENT_DEFAULT_DENIED_REMOTE_IPS, AGENT_REFUSES_LOOPBACK_MIN } from '../protocol/ssm/versions.js';

export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';
export type PlatformType = 'Linux' | 'Windows' | 'MacOS';
export type ResourceType = 'EC2Instance' | 'ManagedInstance';

export const PING_STATUSES: readonly PingStatus[] = ['Online', 'ConnectionLost', 'Inactive'];
export const PLATFORM_TYPES: readonly PlatformType[] = ['Linux', 'Windows', 'MacOS'];
export const RESOURCE_TYPES: readonly ResourceType[] = ['EC2Instance', 'ManagedInstance'];

/** One emulated managed node. */
export interface InstanceSettings {
  /** `i-…` (EC2) or `mi-…` (hybrid managed instance). */
  instanceId: string;
  /** Shorthand for `tags.Name`. */
  name?: string;
  tags?: Record<string, string>;
  /**
   * Default `3.3.4851.0` (2026-07), which also refuses loopback and container-credential
   * destinations for ToRemoteHost; `3.3.1142.0` is the agent the fixtures were recorded with.
   */
  agentVersion?: string;
  /** Default `Online`; anything else makes StartSession fail with TargetNotConnected. */
  pingStatus?: PingStatus;
  platformType?: PlatformType;
  platformName?: string;
  platformVersion?: string;
  ipAddress?: string;
  computerName?: string;
  /** Default: `ManagedInstance` for `mi-` ids, else `EC2Instance`. */
  resourceType?: ResourceType;
  /** Issue #9: when set, the agent asks for KMS encryption with this key id. */
  kmsKeyId?: string;
  /** Issue #15: the account the instance lives in (default 123456789012, the root keys' account). */
  accountId?: string;
  /** Issue #15: the region the instance lives in (default: the emulator's region). */
  region?: string;
}

/** An instance setting with every field the API reports filled in. */
export interface ResolvedInstanceSettings extends InstanceSettings {
  tags: Record<string, string>;
  agentVersion: string;
  pingStatus: PingStatus;
  platformType: PlatformType;
  platformName: string;
  platformVersion: string;
  ipAddress: string;
  computerName: string;
  resourceType: ResourceType;
}

/** Where the agent of an instance really connects when it dials `host:port`. */
export interface DestinationMapping {
  /** Instance id, or `'*'` (default) for every instance. */
  instance?: string;
  /** The host as the agent sees it (the document's `host`); default `'localhost'`. */
  host?: string;
  port: number;
  /** A loopback address (127.0.0.0/8, ::1 or `localhost`) and port on this machine. */
  to: { host: string; port: number };
}

/** Fault-injection knobs (gateway side). All off by default. */
export interface FaultSettings {
  dropAfterMessages?: number;
  dropAfterBytes?: number;
  dropEveryMs?: number;
  byeAfterMs?: number;
  dropRate?: number;
  duplicateRate?: number;
  reorderRate?: number;
  reorderWindow?: number;
  delayRate?: number;
  delayMs?: number;
  ackDelayMs?: number;
  /** The next ResumeSession call fails once with AccessDeniedException (HTTP 400). */
  failResumeOnce?: boolean;
  /**
   * The service's clock runs this many ms ahead (negative: behind) of the emulator's: the `Date`
   * header and the SigV4 15-minute window follow it, as when the caller's clock is off.
   */
  clockSkewMs?: number;
  /** Every signed API call (SSM, KMS, STS) fails with ExpiredToken, as with expired session credentials. */
  expiredToken?: boolean;
  /** Remote host names the agent's resolver cannot find (`lookup HOST: no such host`). */
  unresolvableHosts?: string[];
}

/** An emulated IAM deny: calls of `action` (e.g. `ssm:StartSession`) on `resource` are refused. */
export interface AccessDenyRule {
  /** `ssm:StartSession`, `ssm:ResumeSession`, … or `ssm:*`. */
  action: string;
  /** Instance id, full ARN, or omitted / `'*'` for every resource. */
  resource?: string;
}

/** Issue #19: `rds`, `elasticache`, `ecs` and `apiPageSize` come from DatabaseSettings (databases.ts). */
export interface EmulatorOptions extends DatabaseSettings {
  /** Listen address; default `127.0.0.1`. */
  host?: string;
  /** Listen port; default 0 (any free port). */
  port?: number;
  /** Default `us-east-1`. */
  region?: string;
  /** The only credentials the SigV4 check accepts. Default: random per start. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Default: one Online instance, Name tag `demo`, agent 3.3.4851.0. */
  instances?: InstanceSettings[];
  /** None: an instance's `localhost:P` is this machine's `127.0.0.1:P`. */
  destinations?: DestinationMapping[];
  /** Default `agent`: 1024 bytes then at least 1 ms, as the real agent paces output. */
  pacing?: 'agent' | 'none';
  faults?: FaultSettings;
  /** Seed of every random choice the fault injector makes. */
  seed?: number;
  /** Default: the agent's `Mgs.DeniedPortForwardingRemoteIPs` default list. */
  remoteHostDenyList?: string[];
  accessDeny?: AccessDenyRule[];
  /** Service idle timeout; default 20 minutes (the Session Manager default). 0 disables. */
  idleTimeoutMs?: number;
  /** Service maximum session duration; default 0 = no limit (the Session Manager default). */
  maxSessionDurationMs?: number;
  /**
   * SigV4 on the data-channel websocket upgrade (client 1.2.764.0+ signs it, service
   * `ssmmessages`). `required`: an unsigned or badly signed upgrade gets HTTP 403; `optional`
   * (default): a signature that is present must verify, none is fine (the 2024 client);
   * `off`: never checked.
   */
  dataChannelAuth?: DataChannelAuth;
  /**
   * `fresh` (default): ResumeSession returns a StreamUrl with a new `cell-number`, and once a
   * session was resumed an older URL of it gets HTTP 403 (as the service now does). `same`:
   * ResumeSession returns the original URL and any URL of the session is accepted (2024).
   */
  resumeStreamUrl?: ResumeStreamUrl;
  /** Issue #15: the sign-in side (SSO OIDC, portal, STS): lifetimes, MFA, test knobs. */
  identity?: IdentitySettings;
  clock?: Clock;
}

export type DataChannelAuth = 'required' | 'optional' | 'off';
export type ResumeStreamUrl = 'fresh' | 'same';
export const DATA_CHANNEL_AUTH_VALUES: readonly DataChannelAuth[] = ['required', 'optional', 'off'];
export const RESUME_STREAM_URL_VALUES: readonly ResumeStreamUrl[] = ['fresh', 'same'];

export interface ResolvedEmulatorOptions {
  host: string;
  port: number;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  instances: ResolvedInstanceSettings[];
  destinations: Array<{ instance: string; host: string; port: number; to: { host: string; port: number } }>;
  pacing: 'agent' | 'none';
  faults: FaultSettings;
  seed: number;
  remoteHostDenyList: string[];
  accessDeny: Array<{ action: string; resource: string }>;
  idleTimeoutMs: number;
  maxSessionDurationMs: number;
  dataChannelAuth: DataChannelAuth;
  resumeStreamUrl: ResumeStreamUrl;
  identity: ResolvedIdentitySettings;
  clock: Clock;
  /** Issue #19: emulated RDS, ElastiCache and ECS resources. */
  databases: ResolvedDatabases;
}

/**
 * The default instance's agent: 3.3.4851.0 (2026-07), the first to refuse loopback and the
 * container credential endpoints for ToRemoteHost. Smux with keep-alive off, as 3.3.1142.0
 * (the agent the fixtures were recorded with).
 */
export const DEFAULT_AGENT_VERSION = AGENT_REFUSES_LOOPBACK_MIN;
export const DEFAULT_INSTANCE_ID = 'i-0123456789abcdef0';
export const DEFAULT_REGION = 'us-east-1';
/** Session Manager's default idle session timeout (the service ends a quiet session). */
export const SERVICE_IDLE_SESSION_TIMEOUT_MS = 20 * 60_000;

/** The account and IAM user the emulator pretends the caller is. */
export const EMULATOR_ACCOUNT_ID = '123456789012';
export const EMULATOR_USER_NAME = 'emulator';
export const EMULATOR_USER_ARN = `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:user/${EMULATOR_USER_NAME}`;

/** The emulated agent's default deny list: the real agent's `Mgs.DeniedPortForwardingRemoteIPs`. */
export const DEFAULT_REMOTE_HOST_DENY_LIST: readonly string[] = AGENT_DEFAULT_DENIED_REMOTE_IPS;

const INSTANCE_ID_RE = /^(i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/;

function randomAlnum(n: number, alphabet: string): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** Fresh random credentials in the shape of long-term IAM user keys. */
export function randomCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: `AKIA${randomAlnum(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
    secretAccessKey: randomAlnum(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'),
  };
}

/** Fill every default of one instance. */
export function resolveInstance(i: InstanceSettings): ResolvedInstanceSettings {
  const tags: Record<string, string> = { ...(i.tags ?? {}) };
  if (i.name !== undefined) tags['Name'] = i.name;
  const isManaged = i.instanceId.startsWith('mi-');
  const platformType = i.platformType ?? 'Linux';
  const suffix = i.instanceId.slice(-8);
  const out: ResolvedInstanceSettings = {
    ...i,
    tags,
    agentVersion: i.agentVersion ?? DEFAULT_AGENT_VERSION,
    pingStatus: i.pingStatus ?? 'Online',
    platformType,
    platformName:
      i.platformName ??
      (platformType === 'Windows'
        ? 'Microsoft Windows Server 2022 Datacenter'
        : platformType === 'MacOS'
          ? 'macOS'
          : 'Amazon Linux'),
    platformVersion:
      i.platformVersion ?? (platformType === 'Windows' ? '10.0.20348' : platformType === 'MacOS' ? '14.0' : '2023'),
    ipAddress: i.ipAddress ?? '10.0.0.10',
    computerName: i.computerName ?? `ip-${suffix}.ec2.internal`,
    resourceType: i.resourceType ?? (isManaged ? 'ManagedInstance' : 'EC2Instance'),
  };
  if (tags['Name'] !== undefined) out.name = tags['Name'];
  return out;
}

/**
 * Fill every default. Throws `EmulatorError` `ERR_EMULATOR_CONFIG` for settings that cannot work
 * (bad instance ids, duplicates, non-loopback destinations).
 */
export function resolveEmulatorOptions(o: EmulatorOptions = {}): ResolvedEmulatorOptions {
  const issues = collectIssues(o, []);
  if (issues.length > 0) {
    throw new EmulatorError(
      'ERR_EMULATOR_CONFIG',
      `invalid emulator options:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
  const instances = (o.instances ?? [{ instanceId: DEFAULT_INSTANCE_ID, name: 'demo' }]).map(resolveInstance);
  const databases = resolveDatabases(o, o.region ?? DEFAULT_REGION);
  return {
    databases,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    region: o.region ?? DEFAULT_REGION,
    credentials: o.credentials ? { ...o.credentials } : randomCredentials(),
    instances,
    destinations: (o.destinations ?? [])
      .map((d) => ({
        instance: d.instance ?? '*',
        host: d.host ?? 'localhost',
        port: d.port,
        to: { host: d.to.host, port: d.to.port },
      }))
      .concat(databases.mappings.map((m) => ({ instance: '*', host: m.host, port: m.port, to: { ...m.to } }))),
    pacing: o.pacing ?? 'agent',
    faults: { ...(o.faults ?? {}) },
    seed: o.seed ?? randomBytes(4).readUInt32BE(0),
    remoteHostDenyList: [...(o.remoteHostDenyList ?? DEFAULT_REMOTE_HOST_DENY_LIST)],
    accessDeny: (o.accessDeny ?? []).map((r) => ({ action: r.action, resource: r.resource ?? '*' })),
    idleTimeoutMs: o.idleTimeoutMs ?? SERVICE_IDLE_SESSION_TIMEOUT_MS,
    maxSessionDurationMs: o.maxSessionDurationMs ?? 0,
    dataChannelAuth: o.dataChannelAuth ?? 'optional',
    resumeStreamUrl: o.resumeStreamUrl ?? 'fresh',
    identity: resolveIdentitySettings(o.identity),
    clock: o.clock ?? systemClock,
  };
}

// ---------------------------------------------------------------------------------------------
// Validation (shared by resolveEmulatorOptions and the config-file loader)

interface Issue {
  /** Path segments, e.g. ['instances', 0, 'instanceId']. */
  segments: Array<string | number>;
  path: string;
  message: string;
}

function issue(segments: Array<string | number>, message: string): Issue {
  return {
    segments,
    path: segments
      .map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`))
      .join('')
      .replace(/^\./, ''),
    message,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const TOP_KEYS = new Set([
  'host',
  'port',
  'region',
  'credentials',
  'instances',
  'destinations',
  'pacing',
  'faults',
  'seed',
  'remoteHostDenyList',
  'accessDeny',
  'idleTimeoutMs',
  'maxSessionDurationMs',
  'dataChannelAuth',
  'resumeStreamUrl',
  'identity',
  'clock',
  'rds',
  'elasticache',
  'ecs',
  'apiPageSize',
]);
const INSTANCE_KEYS = new Set([
  'instanceId',
  'name',
  'tags',
  'agentVersion',
  'pingStatus',
  'platformType',
  'platformName',
  'platformVersion',
  'ipAddress',
  'computerName',
  'resourceType',
  'kmsKeyId',
  'accountId',
  'region',
]);
const FAULT_NUMBER_KEYS = [
  'dropAfterMessages',
  'dropAfterBytes',
  'dropEveryMs',
  'byeAfterMs',
  'reorderWindow',
  'delayMs',
  'ackDelayMs',
];
const FAULT_RATE_KEYS = ['dropRate', 'duplicateRate', 'reorderRate', 'delayRate'];

function checkPort(v: unknown, at: Array<string | number>, out: Issue[], allowZero: boolean): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 65535) {
    out.push(issue(at, `must be an integer port ${allowZero ? '0' : '1'}..65535`));
  }
}

function checkString(obj: Record<string, unknown>, key: string, at: Array<string | number>, out: Issue[]): void {
  if (obj[key] !== undefined && typeof obj[key] !== 'string') out.push(issue([...at, key], 'must be a string'));
}

function checkNonNegative(obj: Record<string, unknown>, key: string, at: Array<string | number>, out: Issue[]): void {
  const v = obj[key];
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
    out.push(issue([...at, key], 'must be a number >= 0'));
}

/** Every problem in `value` as emulator options (not just the first). */
function collectIssues(value: unknown, root: Array<string | number>): Issue[] {
  const out: Issue[] = [];
  if (!isRecord(value)) return [issue(root, 'must be a mapping')];
  for (const k of Object.keys(value)) if (!TOP_KEYS.has(k)) out.push(issue([...root, k], 'unknown setting'));
  checkString(value, 'host', root, out);
  checkString(value, 'region', root, out);
  if (value['port'] !== undefined) checkPort(value['port'], [...root, 'port'], out, true);
  if (value['seed'] !== undefined && (typeof value['seed'] !== 'number' || !Number.isInteger(value['seed'])))
    out.push(issue([...root, 'seed'], 'must be an integer'));
  checkNonNegative(value, 'idleTimeoutMs', root, out);
  checkNonNegative(value, 'maxSessionDurationMs', root, out);
  const pacing = value['pacing'];
  if (pacing !== undefined && pacing !== 'agent' && pacing !== 'none')
    out.push(issue([...root, 'pacing'], "must be 'agent' or 'none'"));

  const creds = value['credentials'];
  if (creds !== undefined) {
    if (!isRecord(creds))
      out.push(issue([...root, 'credentials'], 'must be a mapping with accessKeyId and secretAccessKey'));
    else {
      for (const k of ['accessKeyId', 'secretAccessKey']) {
        if (typeof creds[k] !== 'string' || creds[k] === '')
          out.push(issue([...root, 'credentials', k], 'must be a non-empty string'));
      }
    }
  }

  const instances = value['instances'];
  if (instances !== undefined) {
    if (!Array.isArray(instances)) out.push(issue([...root, 'instances'], 'must be a list'));
    else {
      const seen = new Set<string>();
      instances.forEach((inst: unknown, i) => {
        const at = [...root, 'instances', i];
        if (!isRecord(inst)) return void out.push(issue(at, 'must be a mapping'));
        for (const k of Object.keys(inst))
          if (!INSTANCE_KEYS.has(k)) out.push(issue([...at, k], 'unknown instance setting'));
        const id = inst['instanceId'];
        if (typeof id !== 'string' || !INSTANCE_ID_RE.test(id))
          out.push(issue([...at, 'instanceId'], 'must look like i-0123456789abcdef0 or mi-0123456789abcdef0'));
        else if (seen.has(id)) out.push(issue([...at, 'instanceId'], `duplicate instance id ${id}`));
        else seen.add(id);
        for (const k of [
          'name',
          'agentVersion',
          'platformName',
          'platformVersion',
          'ipAddress',
          'computerName',
          'kmsKeyId',
          'region',
        ])
          checkString(inst, k, at, out);
        const acct = inst['accountId'];
        if (acct !== undefined && (typeof acct !== 'string' || !/^\d{12}$/.test(acct)))
          out.push(issue([...at, 'accountId'], 'must be a 12-digit account id'));
        const av = inst['agentVersion'];
        if (typeof av === 'string' && !/^\d+(\.\d+){3}$/.test(av))
          out.push(issue([...at, 'agentVersion'], 'must be four dotted numbers, e.g. 3.3.1142.0'));
        const tags = inst['tags'];
        if (tags !== undefined && (!isRecord(tags) || Object.values(tags).some((t) => typeof t !== 'string')))
          out.push(issue([...at, 'tags'], 'must be a mapping of string to string'));
        const enums: Array<[string, readonly string[]]> = [
          ['pingStatus', PING_STATUSES],
          ['platformType', PLATFORM_TYPES],
          ['resourceType', RESOURCE_TYPES],
        ];
        for (const [k, allowed] of enums) {
          const v = inst[k];
          if (v !== undefined && (typeof v !== 'string' || !allowed.includes(v)))
            out.push(issue([...at, k], `must be one of ${allowed.join(', ')}`));
        }
      });
    }
  }

  const dests = value['destinations'];
  if (dests !== undefined) {
    if (!Array.isArray(dests)) out.push(issue([...root, 'destinations'], 'must be a list'));
    else {
      dests.forEach((d: unknown, i) => {
        const at = [...root, 'destinations', i];
        if (!isRecord(d)) return void out.push(issue(at, 'must be a mapping'));
        checkString(d, 'instance', at, out);
        checkString(d, 'host', at, out);
        checkPort(d['port'], [...at, 'port'], out, false);
        const to = d['to'];
        if (!isRecord(to)) return void out.push(issue([...at, 'to'], 'must be a mapping with host and port'));
        if (typeof to['host'] !== 'string' || !isLoopbackName(to['host']))
          out.push(issue([...at, 'to', 'host'], 'must be a loopback address (127.x.x.x, ::1 or localhost)'));
        checkPort(to['port'], [...at, 'to', 'port'], out, false);
      });
    }
  }

  const faults = value['faults'];
  if (faults !== undefined) {
    if (!isRecord(faults)) out.push(issue([...root, 'faults'], 'must be a mapping'));
    else {
      const known = new Set([
        ...FAULT_NUMBER_KEYS,
        ...FAULT_RATE_KEYS,
        'failResumeOnce',
        'clockSkewMs',
        'expiredToken',
        'unresolvableHosts',
      ]);
      for (const k of Object.keys(faults)) if (!known.has(k)) out.push(issue([...root, 'faults', k], 'unknown fault'));
      for (const k of FAULT_NUMBER_KEYS) checkNonNegative(faults, k, [...root, 'faults'], out);
      for (const k of FAULT_RATE_KEYS) {
        const v = faults[k];
        if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1)))
          out.push(issue([...root, 'faults', k], 'must be a rate between 0 and 1'));
      }
      for (const k of ['failResumeOnce', 'expiredToken']) {
        if (faults[k] !== undefined && typeof faults[k] !== 'boolean')
          out.push(issue([...root, 'faults', k], 'must be true or false'));
      }
      const skew = faults['clockSkewMs'];
      if (skew !== undefined && (typeof skew !== 'number' || !Number.isFinite(skew)))
        out.push(issue([...root, 'faults', 'clockSkewMs'], 'must be a number of milliseconds (negative: behind)'));
      const hosts = faults['unresolvableHosts'];
      if (hosts !== undefined && (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'string')))
        out.push(issue([...root, 'faults', 'unresolvableHosts'], 'must be a list of host names'));
    }
  }

  const auth = value['dataChannelAuth'];
  if (auth !== undefined && !(DATA_CHANNEL_AUTH_VALUES as readonly unknown[]).includes(auth))
    out.push(issue([...root, 'dataChannelAuth'], `must be one of ${DATA_CHANNEL_AUTH_VALUES.join(', ')}`));
  const resume = value['resumeStreamUrl'];
  if (resume !== undefined && !(RESUME_STREAM_URL_VALUES as readonly unknown[]).includes(resume))
    out.push(issue([...root, 'resumeStreamUrl'], `must be one of ${RESUME_STREAM_URL_VALUES.join(', ')}`));
  const ident = value['identity'];
  if (ident !== undefined) {
    if (!isRecord(ident)) out.push(issue([...root, 'identity'], 'must be a mapping'));
    else {
      const nums = [
        'tokenLifetimeSeconds',
        'credentialLifetimeSeconds',
        'deviceCodeLifetimeSeconds',
        'pollIntervalSeconds',
      ];
      const bools = ['slowDownOnce', 'autoApprove'];
      const known = new Set([...nums, ...bools, 'mfaRoles', 'mfaCode']);
      for (const k of Object.keys(ident))
        if (!known.has(k)) out.push(issue([...root, 'identity', k], 'unknown setting'));
      for (const k of nums) checkNonNegative(ident, k, [...root, 'identity'], out);
      for (const k of bools)
        if (ident[k] !== undefined && typeof ident[k] !== 'boolean')
          out.push(issue([...root, 'identity', k], 'must be true or false'));
      checkString(ident, 'mfaCode', [...root, 'identity'], out);
      const roles = ident['mfaRoles'];
      if (roles !== undefined && (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string')))
        out.push(issue([...root, 'identity', 'mfaRoles'], 'must be a list of role ARNs or names'));
    }
  }

  const deny = value['remoteHostDenyList'];
  if (deny !== undefined && (!Array.isArray(deny) || deny.some((h) => typeof h !== 'string')))
    out.push(issue([...root, 'remoteHostDenyList'], 'must be a list of addresses'));

  for (const d of databaseIssues(value)) out.push(issue([...root, ...d.segments], d.message));

  const access = value['accessDeny'];
  if (access !== undefined) {
    if (!Array.isArray(access)) out.push(issue([...root, 'accessDeny'], 'must be a list'));
    else {
      access.forEach((r: unknown, i) => {
        const at = [...root, 'accessDeny', i];
        if (!isRecord(r)) return void out.push(issue(at, 'must be a mapping with action (and resource)'));
        if (typeof r['action'] !== 'string' || !/^(ssm|kms|rds|elasticache|ecs):[A-Za-z*]+$/.test(r['action']))
          out.push(issue([...at, 'action'], 'must be an IAM action such as ssm:StartSession'));
        checkString(r, 'resource', at, out);
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Config file

function positionOf(
  doc: Document,
  counter: LineCounter,
  segments: Array<string | number>,
): { line: number; col: number } | undefined {
  // Walk up the path until a node with a source range exists (a missing key points at its parent).
  for (let n = segments.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
    if (isNode(node) && node.range) {
      const p = counter.linePos(node.range[0]);
      return { line: p.line, col: p.col };
    }
  }
  return undefined;
}

/**
 * Read an emulator config file (YAML, which includes JSON). Keys are those of `EmulatorOptions`
 * (except `clock`). Throws `EmulatorError` `ERR_EMULATOR_CONFIG` listing every problem as
 * `file:line:col: path: message`.
 */
export function loadEmulatorConfig(path: string): EmulatorOptions {
  // Same rules as the project config: a regular text file of at most 1 MiB.
  const read = readSmallTextFile(path, 1024 * 1024);
  if (!read.ok)
    throw new EmulatorError('ERR_EMULATOR_CONFIG', `${path}: cannot read emulator config: the file ${read.reason}`, {
      details: { file: path },
    });
  const text = read.text;
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((err) => {
      const p = counter.linePos(err.pos[0]);
      return `${path}:${p.line}:${p.col}: ${err.message.split('\n')[0] ?? err.message}`;
    });
    throw new EmulatorError('ERR_EMULATOR_CONFIG', `invalid emulator config:\n${lines.join('\n')}`, {
      details: { file: path },
    });
  }
  let value: unknown;
  try {
    // maxAliasCount: a "billion laughs" file must not expand into gigabytes.
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    throw new EmulatorError(
      'ERR_EMULATOR_CONFIG',
      `invalid emulator config:\n${path}: too many alias expansions (at most 100 aliases may be expanded)`,
      { details: { file: path } },
    );
  }
  const issues = collectIssues(value, []);
  if (isRecord(value) && value['clock'] !== undefined) issues.push(issue(['clock'], 'cannot be set in a config file'));
  if (issues.length > 0) {
    const lines = issues.map((i) => {
      const p = positionOf(doc, counter, i.segments);
      const where = p ? `${path}:${p.line}:${p.col}` : path;
      return `${where}: ${i.path || '(root)'}: ${i.message}`;
    });
    throw new EmulatorError('ERR_EMULATOR_CONFIG', `invalid emulator config:\n${lines.join('\n')}`, {
      details: { file: path, issues: issues.length },
    });
  }
  return value as EmulatorOptions;
}
