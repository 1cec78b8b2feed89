/**
 * Emulated RDS, ElastiCache and ECS resources (issue #19): what `rds:`, `elasticache:` and `ecs:`
 * in the emulator's YAML declare, their defaults (endpoint names in the real services' shapes),
 * validation, and the ECS Exec targets StartSession accepts.
 *
 *   rds:
 *     instances: [{ id, engine?, port?, host?, status?, iamAuth?, cluster?, to? }]
 *     clusters:  [{ id, engine?, port?, host?, readerHost?, status?, iamAuth?, to?, readerTo? }]
 *   elasticache:
 *     replicationGroups: [{ id, engine?, port?, host?, readerHost?, clusterMode?, status?, to? }]
 *     serverless:        [{ name, engine?, port?, host?, readerHost?, status?, to? }]
 *   ecs:
 *     clusters: [{ name, tasks: [{ id?, service?, status?, execEnabled?, containers: [{ name, runtimeId?, status? }] }] }]
 *   apiPageSize: N     page size of every listing (default 100), to exercise paging
 *
 * `to: { host, port }` adds a destination mapping (endpoint name:port → a loopback address), so a
 * forward through any emulated instance reaches a real local server under the database's name.
 */
import { createHash } from 'node:crypto';
import { isLoopbackName } from '../loopback.js';

export interface EmulatedEndpointTarget {
  host: string;
  port: number;
}

export interface RdsInstanceSettings {
  id: string;
  engine?: string;
  port?: number;
  host?: string;
  status?: string;
  iamAuth?: boolean;
  cluster?: string;
  to?: EmulatedEndpointTarget;
}

export interface RdsClusterSettings {
  id: string;
  engine?: string;
  port?: number;
  host?: string;
  readerHost?: string;
  status?: string;
  iamAuth?: boolean;
  to?: EmulatedEndpointTarget;
  readerTo?: EmulatedEndpointTarget;
}

export interface CacheSettings {
  /** Replication group id (`id`) or serverless cache name (`name`). */
  id?: string;
  name?: string;
  engine?: string;
  port?: number;
  host?: string;
  readerHost?: string;
  clusterMode?: boolean;
  status?: string;
  to?: EmulatedEndpointTarget;
}

export interface EcsContainerSettings {
  name: string;
  runtimeId?: string;
  status?: string;
}

export interface EcsTaskSettings {
  id?: string;
  service?: string;
  status?: string;
  execEnabled?: boolean;
  containers: EcsContainerSettings[];
}

export interface DatabaseSettings {
  rds?: { instances?: RdsInstanceSettings[]; clusters?: RdsClusterSettings[] };
  elasticache?: { replicationGroups?: CacheSettings[]; serverless?: CacheSettings[] };
  ecs?: { clusters?: Array<{ name: string; tasks?: EcsTaskSettings[] }> };
  apiPageSize?: number;
}

export interface ResolvedRdsInstance extends RdsInstanceSettings {
  engine: string;
  port: number;
  host: string;
  status: string;
  iamAuth: boolean;
}
export interface ResolvedRdsCluster extends RdsClusterSettings {
  engine: string;
  port: number;
  host: string;
  readerHost: string;
  status: string;
  iamAuth: boolean;
}
export interface ResolvedCache {
  id: string;
  kind: 'replication-group' | 'serverless';
  engine: string;
  port: number;
  host: string;
  readerHost?: string;
  clusterMode: boolean;
  status: string;
}
export interface ResolvedEcsTask {
  id: string;
  service?: string;
  status: string;
  execEnabled: boolean;
  containers: Array<{ name: string; runtimeId: string; status: string }>;
}
export interface ResolvedDatabases {
  rdsInstances: ResolvedRdsInstance[];
  rdsClusters: ResolvedRdsCluster[];
  caches: ResolvedCache[];
  ecsClusters: Array<{ name: string; tasks: ResolvedEcsTask[] }>;
  pageSize: number;
  /** Destination mappings the `to:` keys add. */
  mappings: Array<{ host: string; port: number; to: EmulatedEndpointTarget }>;
}

/** The made-up part of endpoint names (the real one is per account and region). */
const ACCOUNT_TAG = 'c0emulator1x';

function shortRegion(region: string): string {
  // us-east-1 → use1, eu-west-2 → euw2 (ElastiCache's style).
  const [geo = '', dir = '', n = ''] = region.split('-');
  return `${geo}${dir.charAt(0)}${n}`;
}

function hex(text: string, n: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, n);
}

export function resolveDatabases(d: DatabaseSettings, region: string): ResolvedDatabases {
  const mappings: ResolvedDatabases['mappings'] = [];
  const rdsInstances = (d.rds?.instances ?? []).map((i): ResolvedRdsInstance => {
    const engine = i.engine ?? 'postgres';
    const r: ResolvedRdsInstance = {
      ...i,
      engine,
      port: i.port ?? (engine.includes('mysql') || engine.includes('maria') ? 3306 : 5432),
      host: i.host ?? `${i.id.toLowerCase()}.${ACCOUNT_TAG}.${region}.rds.amazonaws.com`,
      status: i.status ?? 'available',
      iamAuth: i.iamAuth ?? false,
    };
    if (i.to !== undefined) mappings.push({ host: r.host, port: r.port, to: i.to });
    return r;
  });
  const rdsClusters = (d.rds?.clusters ?? []).map((c): ResolvedRdsCluster => {
    const engine = c.engine ?? 'aurora-postgresql';
    const r: ResolvedRdsCluster = {
      ...c,
      engine,
      port: c.port ?? (engine.includes('mysql') ? 3306 : 5432),
      host: c.host ?? `${c.id.toLowerCase()}.cluster-${ACCOUNT_TAG}.${region}.rds.amazonaws.com`,
      readerHost: c.readerHost ?? `${c.id.toLowerCase()}.cluster-ro-${ACCOUNT_TAG}.${region}.rds.amazonaws.com`,
      status: c.status ?? 'available',
      iamAuth: c.iamAuth ?? false,
    };
    if (c.to !== undefined) mappings.push({ host: r.host, port: r.port, to: c.to });
    if (c.readerTo !== undefined) mappings.push({ host: r.readerHost, port: r.port, to: c.readerTo });
    return r;
  });
  const sr = shortRegion(region);
  const caches: ResolvedCache[] = [
    ...(d.elasticache?.replicationGroups ?? []).map((g): ResolvedCache => {
      const id = g.id ?? '';
      const clusterMode = g.clusterMode ?? false;
      const tag = hex(`${region}/${id}`, 6);
      const r: ResolvedCache = {
        id,
        kind: 'replication-group',
        engine: g.engine ?? 'redis',
        port: g.port ?? 6379,
        host:
          g.host ??
          (clusterMode
            ? `clustercfg.${id}.${tag}.${sr}.cache.amazonaws.com`
            : `master.${id}.${tag}.${sr}.cache.amazonaws.com`),
        clusterMode,
        status: g.status ?? 'available',
      };
      if (!clusterMode) r.readerHost = g.readerHost ?? `replica.${id}.${tag}.${sr}.cache.amazonaws.com`;
      if (g.to !== undefined) mappings.push({ host: r.host, port: r.port, to: g.to });
      return r;
    }),
    ...(d.elasticache?.serverless ?? []).map((s): ResolvedCache => {
      const id = s.name ?? '';
      const tag = hex(`${region}/${id}`, 6);
      const r: ResolvedCache = {
        id,
        kind: 'serverless',
        engine: s.engine ?? 'valkey',
        port: s.port ?? 6379,
        host: s.host ?? `${id}-${tag}.serverless.${sr}.cache.amazonaws.com`,
        readerHost: s.readerHost ?? `${id}-${tag}.serverless.${sr}.cache.amazonaws.com`,
        clusterMode: false,
        status: s.status ?? 'available',
      };
      if (s.to !== undefined) mappings.push({ host: r.host, port: r.port, to: s.to });
      return r;
    }),
  ];
  const ecsClusters = (d.ecs?.clusters ?? []).map((c) => ({
    name: c.name,
    tasks: (c.tasks ?? []).map((t, i): ResolvedEcsTask => {
      const id = t.id ?? hex(`${c.name}/${t.service ?? ''}/${i}`, 32);
      return {
        id,
        ...(t.service === undefined ? {} : { service: t.service }),
        status: t.status ?? 'RUNNING',
        execEnabled: t.execEnabled ?? true,
        containers: t.containers.map((k) => ({
          name: k.name,
          runtimeId: k.runtimeId ?? `${id}-${parseInt(hex(`${id}/${k.name}`, 8), 16)}`,
          status: k.status ?? 'RUNNING',
        })),
      };
    }),
  }));
  return { rdsInstances, rdsClusters, caches, ecsClusters, pageSize: d.apiPageSize ?? 100, mappings };
}

/** The ECS task and container behind `ecs:<cluster>_<task-id>_<runtime-id>`, when it exists. */
export function findEcsTarget(
  db: ResolvedDatabases,
  target: string,
): { cluster: string; task: ResolvedEcsTask; container: string } | undefined {
  if (!target.startsWith('ecs:')) return undefined;
  for (const c of db.ecsClusters) {
    for (const t of c.tasks) {
      for (const k of t.containers) {
        if (target === `ecs:${c.name}_${t.id}_${k.runtimeId}`) return { cluster: c.name, task: t, container: k.name };
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Validation (issue texts in the style of options.ts)

export interface DbIssue {
  segments: Array<string | number>;
  message: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ID_RE = /^[A-Za-z][A-Za-z0-9-]{0,62}$/;

const KEYS: Record<string, readonly string[]> = {
  rdsInstance: ['id', 'engine', 'port', 'host', 'status', 'iamAuth', 'cluster', 'to'],
  rdsCluster: ['id', 'engine', 'port', 'host', 'readerHost', 'status', 'iamAuth', 'to', 'readerTo'],
  group: ['id', 'engine', 'port', 'host', 'readerHost', 'clusterMode', 'status', 'to'],
  serverless: ['name', 'engine', 'port', 'host', 'readerHost', 'status', 'to'],
  task: ['id', 'service', 'status', 'execEnabled', 'containers'],
  container: ['name', 'runtimeId', 'status'],
};

function checkEntry(
  v: unknown,
  at: Array<string | number>,
  kind: string,
  idKey: string,
  seen: Set<string>,
  out: DbIssue[],
): Record<string, unknown> | undefined {
  if (!isRecord(v)) {
    out.push({ segments: at, message: 'must be a mapping' });
    return undefined;
  }
  for (const k of Object.keys(v))
    if (!(KEYS[kind] ?? []).includes(k)) out.push({ segments: [...at, k], message: `unknown ${kind} setting` });
  const id = v[idKey];
  const re = kind === 'container' ? /^[A-Za-z0-9_-]{1,255}$/ : ID_RE;
  if (typeof id !== 'string' || !re.test(id))
    out.push({
      segments: [...at, idKey],
      message:
        kind === 'container'
          ? 'must be letters, digits, - and _'
          : 'must start with a letter and use letters, digits and -',
    });
  else if (seen.has(id.toLowerCase())) out.push({ segments: [...at, idKey], message: `duplicate ${idKey} ${id}` });
  else seen.add(id.toLowerCase());
  for (const k of ['engine', 'host', 'readerHost', 'status', 'cluster', 'service', 'runtimeId', 'name']) {
    if (k !== idKey && v[k] !== undefined && (typeof v[k] !== 'string' || v[k] === ''))
      out.push({ segments: [...at, k], message: 'must be a non-empty string' });
  }
  for (const k of ['iamAuth', 'clusterMode', 'execEnabled'])
    if (v[k] !== undefined && typeof v[k] !== 'boolean')
      out.push({ segments: [...at, k], message: 'must be true or false' });
  const port = v['port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535))
    out.push({ segments: [...at, 'port'], message: 'must be an integer port 1..65535' });
  for (const k of ['to', 'readerTo']) {
    const to = v[k];
    if (to === undefined) continue;
    if (
      !isRecord(to) ||
      typeof to['host'] !== 'string' ||
      !isLoopbackName(to['host']) ||
      typeof to['port'] !== 'number' ||
      !Number.isInteger(to['port']) ||
      to['port'] < 1 ||
      to['port'] > 65535
    )
      out.push({ segments: [...at, k], message: 'must be { host: <loopback address>, port: 1..65535 }' });
  }
  return v;
}

function list(v: unknown, at: Array<string | number>, out: DbIssue[]): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    out.push({ segments: at, message: 'must be a list' });
    return [];
  }
  return v;
}

function section(v: unknown, at: Array<string | number>, keys: readonly string[], out: DbIssue[]) {
  if (v === undefined) return {};
  if (!isRecord(v)) {
    out.push({ segments: at, message: 'must be a mapping' });
    return {};
  }
  for (const k of Object.keys(v)) if (!keys.includes(k)) out.push({ segments: [...at, k], message: 'unknown setting' });
  return v;
}

/** Every problem in the `rds`, `elasticache`, `ecs` and `apiPageSize` settings. */
export function databaseIssues(value: Record<string, unknown>): DbIssue[] {
  const out: DbIssue[] = [];
  const rds = section(value['rds'], ['rds'], ['instances', 'clusters'], out);
  const rdsSeen = new Set<string>();
  list(rds['instances'], ['rds', 'instances'], out).forEach((e, i) =>
    checkEntry(e, ['rds', 'instances', i], 'rdsInstance', 'id', rdsSeen, out),
  );
  const clusterSeen = new Set<string>();
  list(rds['clusters'], ['rds', 'clusters'], out).forEach((e, i) =>
    checkEntry(e, ['rds', 'clusters', i], 'rdsCluster', 'id', clusterSeen, out),
  );
  const ec = section(value['elasticache'], ['elasticache'], ['replicationGroups', 'serverless'], out);
  const groupSeen = new Set<string>();
  list(ec['replicationGroups'], ['elasticache', 'replicationGroups'], out).forEach((e, i) =>
    checkEntry(e, ['elasticache', 'replicationGroups', i], 'group', 'id', groupSeen, out),
  );
  const slSeen = new Set<string>();
  list(ec['serverless'], ['elasticache', 'serverless'], out).forEach((e, i) =>
    checkEntry(e, ['elasticache', 'serverless', i], 'serverless', 'name', slSeen, out),
  );
  const ecs = section(value['ecs'], ['ecs'], ['clusters'], out);
  const ecsSeen = new Set<string>();
  list(ecs['clusters'], ['ecs', 'clusters'], out).forEach((c, ci) => {
    const at = ['ecs', 'clusters', ci];
    if (!isRecord(c)) return void out.push({ segments: at, message: 'must be a mapping' });
    for (const k of Object.keys(c))
      if (k !== 'name' && k !== 'tasks') out.push({ segments: [...at, k], message: 'unknown cluster setting' });
    const name = c['name'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(name))
      out.push({ segments: [...at, 'name'], message: 'must be letters, digits, - and _' });
    else if (ecsSeen.has(name)) out.push({ segments: [...at, 'name'], message: `duplicate cluster ${name}` });
    else ecsSeen.add(name);
    const taskSeen = new Set<string>();
    list(c['tasks'], [...at, 'tasks'], out).forEach((t, ti) => {
      const tat = [...at, 'tasks', ti];
      if (!isRecord(t)) return void out.push({ segments: tat, message: 'must be a mapping' });
      for (const k of Object.keys(t))
        if (!(KEYS['task'] ?? []).includes(k)) out.push({ segments: [...tat, k], message: 'unknown task setting' });
      const id = t['id'];
      if (id !== undefined && (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)))
        out.push({ segments: [...tat, 'id'], message: 'must be 32 lowercase hex digits' });
      else if (typeof id === 'string' && taskSeen.has(id))
        out.push({ segments: [...tat, 'id'], message: `duplicate task ${id}` });
      else if (typeof id === 'string') taskSeen.add(id);
      const containerSeen = new Set<string>();
      const containers = list(t['containers'], [...tat, 'containers'], out);
      if (containers.length === 0 && Array.isArray(t['containers']))
        out.push({ segments: [...tat, 'containers'], message: 'a task has at least one container' });
      containers.forEach((k, ki) => checkEntry(k, [...tat, 'containers', ki], 'container', 'name', containerSeen, out));
    });
  });
  const ps = value['apiPageSize'];
  if (ps !== undefined && (typeof ps !== 'number' || !Number.isInteger(ps) || ps < 1 || ps > 100))
    out.push({ segments: ['apiPageSize'], message: 'must be an integer 1..100' });
  return out;
}
