/**
 * Databases and ECS tasks by name (issue #19): `rds:NAME[/reader|/writer|/instance]`,
 * `cache:NAME[/reader]` and `ecs:CLUSTER/SERVICE|TASK_ID[/CONTAINER]`, resolved through the
 * service APIs to what a forward needs (a host and port the bastion dials, or the Session Manager
 * target `ecs:<cluster>_<task-id>_<runtime-id>`).
 *
 * Resolution is a set of plain functions over the thin APIs of `aws/`, so `tunnel doctor` and the
 * listing commands reuse them. Unknown names and several matches are errors that list what
 * exists, so the user can fix the name without another tool.
 */
import type { CacheEndpointInfo, ElastiCacheApi, RdsApi, RdsCluster, RdsInstance } from '../aws/databases.js';
import type { EcsApi, EcsTask } from '../aws/ecs.js';
import { AwsError, ForwardError } from '../errors.js';
import type { DbRef, EcsRef } from './forward-spec.js';

/** Where a named database answers. */
export interface NamedDestination {
  ref: DbRef;
  host: string;
  port: number;
  engine?: string;
  /** RDS: IAM database authentication is enabled. */
  iamAuth?: boolean;
  /** `Aurora cluster orders (aurora-postgresql)`, for messages and listings. */
  description: string;
}

/** How many names an "unknown name" error lists before "…". */
const LIST_LIMIT = 20;

function listNames(names: readonly string[]): string {
  if (names.length === 0) return 'none exist';
  const shown = names.slice(0, LIST_LIMIT).join(', ');
  return names.length > LIST_LIMIT ? `${shown}, … (${names.length} in all)` : shown;
}

export function describeDbRef(ref: DbRef): string {
  return `${ref.service}:${ref.name}${ref.endpoint === 'default' ? '' : `/${ref.endpoint}`}`;
}

function notFound(what: string, message: string): ForwardError {
  return new ForwardError('ERR_TUNNEL_TARGET_NOT_FOUND', message, { details: { target: what } });
}

function ambiguous(what: string, message: string, matches: readonly string[]): ForwardError {
  return new ForwardError('ERR_TUNNEL_TARGET_AMBIGUOUS', message, {
    details: { target: what, matches: matches.join(',') },
  });
}

function withEndpoint(
  ref: DbRef,
  host: string | undefined,
  port: number | undefined,
  description: string,
  extra: { engine?: string; iamAuth?: boolean },
): NamedDestination {
  const what = describeDbRef(ref);
  if (host === undefined || host === '' || port === undefined)
    throw new ForwardError(
      'ERR_TUNNEL_TARGET_NOT_FOUND',
      `${what}: ${description} has no endpoint yet (still creating, or stopped?)`,
      { details: { target: what } },
    );
  return { ref, host, port, description, ...extra };
}

function ofCluster(ref: DbRef, c: RdsCluster): NamedDestination {
  const engine = c.engine === undefined ? '' : ` (${c.engine})`;
  const reader = ref.endpoint === 'reader';
  return withEndpoint(
    ref,
    reader ? c.readerHost : c.host,
    c.port,
    `Aurora cluster ${c.id}${reader ? ' reader endpoint' : ''}${engine}`,
    { ...(c.engine === undefined ? {} : { engine: c.engine }), iamAuth: c.iamAuth },
  );
}

function ofInstance(ref: DbRef, i: RdsInstance): NamedDestination {
  const engine = i.engine === undefined ? '' : ` (${i.engine})`;
  return withEndpoint(ref, i.host, i.port, `DB instance ${i.id}${engine}`, {
    ...(i.engine === undefined ? {} : { engine: i.engine }),
    iamAuth: i.iamAuth,
  });
}

/**
 * `rds:NAME` → the DB instance or Aurora cluster (writer endpoint) of that id; `/reader` → the
 * cluster's reader endpoint; `/writer` and `/instance` pick one kind when a cluster and an
 * instance share the id.
 */
export async function resolveRds(api: RdsApi, ref: DbRef): Promise<NamedDestination> {
  const what = describeDbRef(ref);
  const wantCluster = ref.endpoint !== 'instance';
  const wantInstance = ref.endpoint === 'default' || ref.endpoint === 'instance';
  const [clusters, instances] = await Promise.all([
    wantCluster ? api.describeDbClusters(ref.name) : Promise.resolve([]),
    wantInstance ? api.describeDbInstances(ref.name) : Promise.resolve([]),
  ]);
  const cluster = clusters.filter((c) => c.id.toLowerCase() === ref.name.toLowerCase());
  const instance = instances.filter((i) => i.id.toLowerCase() === ref.name.toLowerCase());
  const c = cluster[0];
  const i = instance[0];
  if (c !== undefined && i !== undefined)
    throw ambiguous(
      what,
      `${what} matches 2 databases: Aurora cluster ${c.id} (${c.host ?? 'no endpoint'}:${c.port ?? '?'}); DB instance ${i.id} (${i.host ?? 'no endpoint'}:${i.port ?? '?'}) (write rds:${ref.name}/writer for the cluster or rds:${ref.name}/instance for the instance)`,
      [`cluster/${c.id}`, `instance/${i.id}`],
    );
  if (c !== undefined) return ofCluster(ref, c);
  if (i !== undefined) {
    if (ref.endpoint === 'reader') throw notFound(what, `${what}: ${i.id} is a DB instance, not an Aurora cluster`);
    return ofInstance(ref, i);
  }
  // Say what exists, so a typo is fixed without another tool.
  const [allClusters, allInstances] = await Promise.all([
    wantCluster ? api.describeDbClusters() : Promise.resolve([]),
    wantInstance ? api.describeDbInstances() : Promise.resolve([]),
  ]);
  const names = [...allClusters.map((x) => `${x.id} (cluster)`), ...allInstances.map((x) => x.id)];
  const kind =
    ref.endpoint === 'reader' || ref.endpoint === 'writer' ? 'Aurora cluster' : 'DB instance or Aurora cluster';
  return Promise.reject(notFound(what, `no ${kind} named "${ref.name}" (${what}); known: ${listNames(names)}`));
}

function ofCache(ref: DbRef, c: CacheEndpointInfo): NamedDestination {
  const reader = ref.endpoint === 'reader';
  const kind = c.kind === 'serverless' ? 'serverless cache' : 'replication group';
  const engine = c.engine === undefined ? '' : ` (${c.engine})`;
  return withEndpoint(
    ref,
    reader ? c.readerHost : c.host,
    reader ? (c.readerPort ?? c.port) : c.port,
    `ElastiCache ${kind} ${c.id}${reader ? ' reader endpoint' : ''}${engine}`,
    c.engine === undefined ? {} : { engine: c.engine },
  );
}

/** `cache:NAME` → the replication group's primary (or configuration) endpoint, or the serverless cache's. */
export async function resolveCache(api: ElastiCacheApi, ref: DbRef): Promise<NamedDestination> {
  const what = describeDbRef(ref);
  if (ref.endpoint === 'writer' || ref.endpoint === 'instance')
    throw new ForwardError('ERR_TUNNEL_TARGET_NOT_FOUND', `${what}: cache names take only /reader`, {
      details: { target: what },
    });
  const [groups, serverless] = await Promise.all([
    api.describeReplicationGroups(ref.name),
    api.describeServerlessCaches(ref.name),
  ]);
  const found = [...groups, ...serverless].filter((c) => c.id.toLowerCase() === ref.name.toLowerCase());
  const only = found[0];
  if (found.length > 1)
    throw ambiguous(
      what,
      `${what} matches ${found.length} caches: ${found.map((c) => `${c.kind} ${c.id} (${c.host ?? 'no endpoint'}:${c.port ?? '?'})`).join('; ')} (use \`host:\` and \`remotePort:\` in the config to pick one)`,
      found.map((c) => `${c.kind}/${c.id}`),
    );
  if (only !== undefined) return ofCache(ref, only);
  const [allGroups, allServerless] = await Promise.all([
    api.describeReplicationGroups(),
    api.describeServerlessCaches(),
  ]);
  const names = [...allGroups.map((x) => x.id), ...allServerless.map((x) => `${x.id} (serverless)`)];
  throw notFound(
    what,
    `no ElastiCache replication group or serverless cache named "${ref.name}"; known: ${listNames(names)}`,
  );
}

/** What an ECS Exec target resolved to. */
export interface EcsTargetResolution {
  /** `ecs:<cluster>_<task-id>_<runtime-id>`: the Session Manager target. */
  targetId: string;
  cluster: string;
  taskId: string;
  container: string;
  runtimeId: string;
}

/** ECS task ids: 32 hex digits (current ARN format) or a UUID (old format). */
export function looksLikeTaskId(s: string): boolean {
  return /^[0-9a-f]{32}$/.test(s) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);
}

export function describeEcsRef(ref: EcsRef): string {
  return `ecs:${ref.cluster}/${ref.name}${ref.container === undefined ? '' : `/${ref.container}`}`;
}

function awsCodeOf(err: unknown): string | undefined {
  return err instanceof AwsError ? err.awsCode : undefined;
}

async function clusterNotFound(api: EcsApi, ref: EcsRef): Promise<ForwardError> {
  const clusters = await api.listClusters().catch(() => []);
  return notFound(describeEcsRef(ref), `no ECS cluster named "${ref.cluster}"; known: ${listNames(clusters)}`);
}

function pickContainer(ref: EcsRef, task: EcsTask): { name: string; runtimeId: string } {
  const what = describeEcsRef(ref);
  const names = task.containers.map((c) => c.name);
  const candidates =
    ref.container === undefined ? task.containers : task.containers.filter((c) => c.name === ref.container);
  if (ref.container !== undefined && candidates.length === 0)
    throw notFound(what, `task ${task.taskId} has no container "${ref.container}"; containers: ${listNames(names)}`);
  if (candidates.length > 1)
    throw ambiguous(
      what,
      `task ${task.taskId} has ${candidates.length} containers: ${names.join(', ')} (name one: ${describeEcsRef({ ...ref, container: names[0] ?? 'NAME' })})`,
      names,
    );
  const c = candidates[0];
  if (c === undefined) throw notFound(what, `task ${task.taskId} has no containers`);
  if (c.runtimeId === undefined || c.runtimeId === '')
    throw notFound(
      what,
      `container ${c.name} of task ${task.taskId} has no runtime id yet (${c.lastStatus ?? 'not running'})`,
    );
  return { name: c.name, runtimeId: c.runtimeId };
}

/**
 * `ecs:CLUSTER/TASK_ID[/CONTAINER]` or `ecs:CLUSTER/SERVICE[/CONTAINER]` → a running task's
 * container as a Session Manager target. A service's tasks are tried newest listing first; the
 * first RUNNING one is used.
 */
export async function resolveEcsTarget(api: EcsApi, ref: EcsRef): Promise<EcsTargetResolution> {
  const what = describeEcsRef(ref);
  let taskIds: string[];
  if (looksLikeTaskId(ref.name)) taskIds = [ref.name];
  else {
    try {
      taskIds = await api.listTasks(ref.cluster, ref.name);
    } catch (err) {
      const code = awsCodeOf(err);
      if (code === 'ClusterNotFoundException') throw await clusterNotFound(api, ref);
      if (code === 'ServiceNotFoundException')
        throw notFound(
          what,
          `no ECS service "${ref.name}" in cluster ${ref.cluster} (nor a task id: those are 32 hex digits)`,
        );
      throw err;
    }
    if (taskIds.length === 0)
      throw notFound(what, `ECS service ${ref.name} in cluster ${ref.cluster} has no running task`);
  }
  let tasks: EcsTask[];
  try {
    tasks = await api.describeTasks(ref.cluster, taskIds);
  } catch (err) {
    if (awsCodeOf(err) === 'ClusterNotFoundException') throw await clusterNotFound(api, ref);
    throw err;
  }
  const running = tasks.filter((t) => t.lastStatus === 'RUNNING');
  const task = running[0];
  if (task === undefined) {
    const seen = tasks.map((t) => `${t.taskId} ${t.lastStatus ?? '?'}`).join('; ');
    throw notFound(what, `no running task for ${what}${seen === '' ? ' (no such task)' : `: ${seen}`}`);
  }
  const c = pickContainer(ref, task);
  return {
    targetId: `ecs:${ref.cluster}_${task.taskId}_${c.runtimeId}`,
    cluster: ref.cluster,
    taskId: task.taskId,
    container: c.name,
    runtimeId: c.runtimeId,
  };
}
