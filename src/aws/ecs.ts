/**
 * The ECS calls behind ECS Exec targets (issue #19): ListClusters, ListTasks and DescribeTasks,
 * every page (bounded). Same conventions as `ssm-api.ts`; the endpoint rules are `endpoints.ts`'s.
 * ECS's own refusals keep the service's error name in `details.awsCode`
 * (`ClusterNotFoundException`, `ServiceNotFoundException`) for the resolver to explain.
 */
import { DescribeTasksCommand, ECSClient, ListClustersCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { baseCredentialProvider, refreshingCredentials } from './credentials.js';
import { clientBase, resolveServiceEndpoint } from './endpoints.js';
import { mapAwsError } from './error-map.js';
import type { AwsSettings } from './settings.js';

export interface EcsContainer {
  name: string;
  /** What Session Manager needs in `ecs:<cluster>_<task-id>_<runtime-id>`. */
  runtimeId?: string;
  lastStatus?: string;
  /** Status of the ExecuteCommandAgent managed agent, when the task has one. */
  execAgentStatus?: string;
}

export interface EcsTask {
  taskArn: string;
  /** The last segment of the task ARN. */
  taskId: string;
  lastStatus?: string;
  desiredStatus?: string;
  /** `service:<name>` for tasks a service started. */
  group?: string;
  enableExecuteCommand: boolean;
  containers: EcsContainer[];
}

export interface EcsApi {
  /** Cluster names (from the ARNs). */
  listClusters(): Promise<string[]>;
  /** Running task ids of a cluster, optionally of one service. */
  listTasks(cluster: string, serviceName?: string): Promise<string[]>;
  describeTasks(cluster: string, taskIds: readonly string[]): Promise<EcsTask[]>;
}

const MAX_PAGES = 100;
/** DescribeTasks takes at most 100 tasks per call. */
const DESCRIBE_BATCH = 100;

/** `arn:aws:ecs:r:acct:task/cluster/abc` → `abc`; a bare id stays as is. */
export function lastArnSegment(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

export function createEcsApi(settings: AwsSettings): EcsApi {
  const creds = refreshingCredentials(baseCredentialProvider(settings));
  const client = new ECSClient({
    ...clientBase(settings, resolveServiceEndpoint(settings, 'ECS')),
    credentials: creds.provider,
  });
  async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = mapAwsError(err, op);
      if (mapped.code === 'ERR_AWS_EXPIRED_TOKEN' || mapped.code === 'ERR_AWS_CREDENTIALS') creds.invalidate();
      throw mapped;
    }
  }
  return {
    listClusters: () =>
      call('ECS:ListClusters', async () => {
        const out: string[] = [];
        let next: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const res = await client.send(
            new ListClustersCommand({ ...(next === undefined ? {} : { nextToken: next }) }),
          );
          out.push(...(res.clusterArns ?? []).map(lastArnSegment));
          next = res.nextToken;
          if (next === undefined || next === '') break;
        }
        return out;
      }),
    listTasks: (cluster, serviceName) =>
      call('ECS:ListTasks', async () => {
        const out: string[] = [];
        let next: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const res = await client.send(
            new ListTasksCommand({
              cluster,
              desiredStatus: 'RUNNING',
              ...(serviceName === undefined ? {} : { serviceName }),
              ...(next === undefined ? {} : { nextToken: next }),
            }),
          );
          out.push(...(res.taskArns ?? []).map(lastArnSegment));
          next = res.nextToken;
          if (next === undefined || next === '') break;
        }
        return out;
      }),
    describeTasks: (cluster, taskIds) =>
      call('ECS:DescribeTasks', async () => {
        const out: EcsTask[] = [];
        for (let i = 0; i < taskIds.length; i += DESCRIBE_BATCH) {
          const res = await client.send(
            new DescribeTasksCommand({ cluster, tasks: taskIds.slice(i, i + DESCRIBE_BATCH) }),
          );
          for (const t of res.tasks ?? []) {
            if (t.taskArn === undefined) continue;
            const task: EcsTask = {
              taskArn: t.taskArn,
              taskId: lastArnSegment(t.taskArn),
              enableExecuteCommand: t.enableExecuteCommand === true,
              containers: (t.containers ?? []).flatMap((c): EcsContainer[] => {
                if (c.name === undefined) return [];
                const out: EcsContainer = { name: c.name };
                if (c.runtimeId !== undefined) out.runtimeId = c.runtimeId;
                if (c.lastStatus !== undefined) out.lastStatus = c.lastStatus;
                const agent = c.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent');
                if (agent?.lastStatus !== undefined) out.execAgentStatus = agent.lastStatus;
                return [out];
              }),
            };
            if (t.lastStatus !== undefined) task.lastStatus = t.lastStatus;
            if (t.desiredStatus !== undefined) task.desiredStatus = t.desiredStatus;
            if (t.group !== undefined) task.group = t.group;
            out.push(task);
          }
        }
        return out;
      }),
  };
}
