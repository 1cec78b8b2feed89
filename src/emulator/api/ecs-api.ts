/**
 * Emulated ECS subset (issue #19), awsJson1.1 with `X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Op>` and signing name `ecs`: ListClusters, ListTasks
 * (cluster, serviceName, desiredStatus, paging) and DescribeTasks (containers with runtime ids and
 * the ExecuteCommandAgent), from the emulator config's `ecs.clusters`.
 */
import type { ResolvedEcsTask } from '../databases.js';
import { EMULATOR_ACCOUNT_ID } from '../options.js';
import type { EmulatorState } from '../state.js';
import type { Operation } from './ssm-api.js';
import { AwsFault, checkAccess, optionalString, type JsonObject } from './wire.js';

export const ECS_TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113';

function clusterArn(state: EmulatorState, name: string): string {
  return `arn:aws:ecs:${state.options.region}:${EMULATOR_ACCOUNT_ID}:cluster/${name}`;
}

function taskArn(state: EmulatorState, cluster: string, id: string): string {
  return `arn:aws:ecs:${state.options.region}:${EMULATOR_ACCOUNT_ID}:task/${cluster}/${id}`;
}

/** `cluster` may be a name or an ARN; absent means `default`, as ECS does. */
function findCluster(state: EmulatorState, body: JsonObject) {
  const raw = optionalString(body, 'cluster') ?? 'default';
  const name = raw.slice(raw.lastIndexOf('/') + 1);
  const c = state.options.databases.ecsClusters.find((x) => x.name === name);
  if (c === undefined) throw new AwsFault('ClusterNotFoundException', 'Cluster not found.');
  return c;
}

function pageOf<T>(state: EmulatorState, items: T[], body: JsonObject): { items: T[]; nextToken?: string } {
  const token = optionalString(body, 'nextToken');
  const start = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw new AwsFault('InvalidParameterException', 'Invalid nextToken.');
  const max = typeof body['maxResults'] === 'number' ? body['maxResults'] : 100;
  const size = Math.max(1, Math.min(max, state.options.databases.pageSize));
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  return end < items.length ? { items: slice, nextToken: String(end) } : { items: slice };
}

function listClusters(state: EmulatorState, body: JsonObject): JsonObject {
  checkAccess(state, 'ecs:ListClusters', '*');
  const pg = pageOf(
    state,
    state.options.databases.ecsClusters.map((c) => clusterArn(state, c.name)),
    body,
  );
  return { clusterArns: pg.items, ...(pg.nextToken === undefined ? {} : { nextToken: pg.nextToken }) };
}

function listTasks(state: EmulatorState, body: JsonObject): JsonObject {
  checkAccess(state, 'ecs:ListTasks', '*');
  const cluster = findCluster(state, body);
  const service = optionalString(body, 'serviceName');
  const desired = optionalString(body, 'desiredStatus') ?? 'RUNNING';
  if (service !== undefined && !cluster.tasks.some((t) => t.service === service))
    throw new AwsFault('ServiceNotFoundException', 'Service not found.');
  const tasks = cluster.tasks.filter(
    (t) => (service === undefined || t.service === service) && (desired === 'RUNNING') === (t.status !== 'STOPPED'),
  );
  const pg = pageOf(
    state,
    tasks.map((t) => taskArn(state, cluster.name, t.id)),
    body,
  );
  return { taskArns: pg.items, ...(pg.nextToken === undefined ? {} : { nextToken: pg.nextToken }) };
}

function taskJson(state: EmulatorState, cluster: string, t: ResolvedEcsTask): JsonObject {
  const arn = taskArn(state, cluster, t.id);
  return {
    taskArn: arn,
    clusterArn: clusterArn(state, cluster),
    lastStatus: t.status,
    desiredStatus: t.status === 'STOPPED' ? 'STOPPED' : 'RUNNING',
    enableExecuteCommand: t.execEnabled,
    launchType: 'FARGATE',
    ...(t.service === undefined ? {} : { group: `service:${t.service}` }),
    containers: t.containers.map((c) => ({
      containerArn: `arn:aws:ecs:${state.options.region}:${EMULATOR_ACCOUNT_ID}:container/${cluster}/${t.id}/${c.name}`,
      taskArn: arn,
      name: c.name,
      runtimeId: c.runtimeId,
      lastStatus: c.status,
      ...(t.execEnabled ? { managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: c.status }] } : {}),
    })),
  };
}

function describeTasks(state: EmulatorState, body: JsonObject): JsonObject {
  checkAccess(state, 'ecs:DescribeTasks', '*');
  const cluster = findCluster(state, body);
  const wanted = body['tasks'];
  if (!Array.isArray(wanted) || wanted.length === 0 || wanted.length > 100 || wanted.some((x) => typeof x !== 'string'))
    throw new AwsFault('InvalidParameterException', 'Tasks cannot be empty and take at most 100 task ids or ARNs.');
  const tasks: JsonObject[] = [];
  const failures: JsonObject[] = [];
  for (const w of wanted as string[]) {
    const id = w.slice(w.lastIndexOf('/') + 1);
    const t = cluster.tasks.find((x) => x.id === id);
    if (t === undefined)
      failures.push({ arn: w.startsWith('arn:') ? w : taskArn(state, cluster.name, w), reason: 'MISSING' });
    else tasks.push(taskJson(state, cluster.name, t));
  }
  return { tasks, failures };
}

export const ECS_OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['ListClusters', listClusters],
  ['ListTasks', listTasks],
  ['DescribeTasks', describeTasks],
]);
