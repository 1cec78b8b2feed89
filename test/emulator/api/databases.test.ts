/**
 * The emulator's RDS, ElastiCache and ECS subsets (issue #19) through the real SDK clients,
 * configured with nothing but the emulator's endpoint: paging, reader endpoints, not-found faults,
 * SigV4, ECS containers/runtime ids, and ECS Exec targets at StartSession.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache';
import { DescribeTasksCommand, ECSClient, ListClustersCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { loadEmulatorConfig, type Emulator } from '../../../src/emulator/index.js';
import { startSession, withEmulator } from '../../helpers/emulator.js';

const TASK = '0123456789abcdef0123456789abcdef';

async function emulator(t: Parameters<typeof withEmulator>[0]): Promise<Emulator> {
  return withEmulator(t, {
    apiPageSize: 2,
    rds: {
      instances: [
        { id: 'orders', iamAuth: true },
        { id: 'aur-1', cluster: 'aur', engine: 'aurora-postgresql' },
        { id: 'legacy', engine: 'mysql' },
        { id: 'extra' },
        { id: 'more' },
      ],
      clusters: [{ id: 'aur' }],
    },
    elasticache: {
      replicationGroups: [{ id: 'sessions' }, { id: 'big', clusterMode: true }],
      serverless: [{ name: 'events' }],
    },
    ecs: {
      clusters: [
        {
          name: 'web',
          tasks: [
            { id: TASK, service: 'api', containers: [{ name: 'app', runtimeId: `${TASK}-1234567890` }] },
            { service: 'api', status: 'STOPPED', containers: [{ name: 'app' }] },
            { service: 'noexec', execEnabled: false, containers: [{ name: 'app' }] },
          ],
        },
      ],
    },
  });
}

const clientOptions = (emu: Emulator) => ({
  endpoint: emu.endpoint,
  region: emu.region,
  credentials: emu.credentials,
  maxAttempts: 1,
});

t.test('RDS: DescribeDBInstances pages, DescribeDBClusters has reader endpoints, unknown ids fault', async (t) => {
  const emu = await emulator(t);
  const rds = new RDSClient(clientOptions(emu));
  t.teardown(() => rds.destroy());
  const first = await rds.send(new DescribeDBInstancesCommand({ MaxRecords: 20 }));
  t.equal(first.DBInstances?.length, 2, 'a page of apiPageSize');
  t.ok(first.Marker, 'with a Marker');
  const ids: string[] = [];
  let marker: string | undefined;
  for (let i = 0; i < 10; i++) {
    const page = await rds.send(
      new DescribeDBInstancesCommand({ ...(marker === undefined ? {} : { Marker: marker }) }),
    );
    ids.push(...(page.DBInstances ?? []).map((d) => d.DBInstanceIdentifier ?? ''));
    marker = page.Marker;
    if (marker === undefined) break;
  }
  t.same(ids, ['orders', 'aur-1', 'legacy', 'extra', 'more'], 'every instance once, in order');
  const one = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }));
  const d = one.DBInstances?.[0];
  t.equal(d?.Endpoint?.Address, `orders.c0emulator1x.${emu.region}.rds.amazonaws.com`);
  t.equal(d?.Endpoint?.Port, 5432);
  t.equal(d?.IAMDatabaseAuthenticationEnabled, true);
  t.equal(d?.DBInstanceStatus, 'available');
  const mysql = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'legacy' }));
  t.equal(mysql.DBInstances?.[0]?.Endpoint?.Port, 3306, 'mysql default port');
  const cl = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'aur' }));
  const c = cl.DBClusters?.[0];
  t.equal(c?.Endpoint, `aur.cluster-c0emulator1x.${emu.region}.rds.amazonaws.com`);
  t.equal(c?.ReaderEndpoint, `aur.cluster-ro-c0emulator1x.${emu.region}.rds.amazonaws.com`);
  t.equal(c?.DBClusterMembers?.[0]?.DBInstanceIdentifier, 'aur-1');
  await t.rejects(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'nope' })), {
    name: 'DBInstanceNotFoundFault',
  });
  await t.rejects(rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'nope' })), {
    name: 'DBClusterNotFoundFault',
  });
  const bad = new RDSClient({ ...clientOptions(emu), credentials: { ...emu.credentials, secretAccessKey: 'wrong' } });
  t.teardown(() => bad.destroy());
  await t.rejects(bad.send(new DescribeDBInstancesCommand({})), /signature/i, 'SigV4 is checked');
  t.ok(emu.state.calls.some((x) => x.operation === 'rds:DescribeDBInstances' && x.errorCode === 'InvalidSignature'));
});

t.test('ElastiCache: replication groups (primary/reader, cluster mode) and serverless caches', async (t) => {
  const emu = await emulator(t);
  const ec = new ElastiCacheClient(clientOptions(emu));
  t.teardown(() => ec.destroy());
  const groups = await ec.send(new DescribeReplicationGroupsCommand({}));
  t.same(
    groups.ReplicationGroups?.map((g) => g.ReplicationGroupId),
    ['sessions', 'big'],
  );
  const s = groups.ReplicationGroups?.[0];
  t.match(
    s?.NodeGroups?.[0]?.PrimaryEndpoint?.Address ?? '',
    /^master\.sessions\.[0-9a-f]{6}\.use1\.cache\.amazonaws\.com$/,
  );
  t.match(s?.NodeGroups?.[0]?.ReaderEndpoint?.Address ?? '', /^replica\.sessions\./);
  t.match(groups.ReplicationGroups?.[1]?.ConfigurationEndpoint?.Address ?? '', /^clustercfg\.big\./);
  const sl = await ec.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: 'events' }));
  t.equal(sl.ServerlessCaches?.[0]?.Endpoint?.Port, 6379);
  t.equal(sl.ServerlessCaches?.[0]?.Engine, 'valkey');
  await t.rejects(ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'nope' })), {
    name: 'ReplicationGroupNotFoundFault',
  });
});

t.test('ECS: ListClusters, ListTasks (service, RUNNING), DescribeTasks with runtime ids', async (t) => {
  const emu = await emulator(t);
  const ecs = new ECSClient(clientOptions(emu));
  t.teardown(() => ecs.destroy());
  const clusters = await ecs.send(new ListClustersCommand({}));
  t.same(clusters.clusterArns, [`arn:aws:ecs:${emu.region}:123456789012:cluster/web`]);
  const tasks = await ecs.send(new ListTasksCommand({ cluster: 'web', serviceName: 'api' }));
  t.same(tasks.taskArns, [`arn:aws:ecs:${emu.region}:123456789012:task/web/${TASK}`], 'only the running task');
  const described = await ecs.send(
    new DescribeTasksCommand({ cluster: 'web', tasks: [TASK, 'ffffffffffffffffffffffffffffffff'] }),
  );
  t.equal(described.tasks?.[0]?.containers?.[0]?.runtimeId, `${TASK}-1234567890`);
  t.equal(described.tasks?.[0]?.group, 'service:api');
  t.equal(described.tasks?.[0]?.containers?.[0]?.managedAgents?.[0]?.name, 'ExecuteCommandAgent');
  t.equal(described.failures?.[0]?.reason, 'MISSING');
  await t.rejects(ecs.send(new ListTasksCommand({ cluster: 'nope' })), { name: 'ClusterNotFoundException' });
  await t.rejects(ecs.send(new ListTasksCommand({ cluster: 'web', serviceName: 'nope' })), {
    name: 'ServiceNotFoundException',
  });
});

t.test('StartSession accepts a running ECS Exec target and refuses stopped or exec-less tasks', async (t) => {
  const emu = await emulator(t);
  const target = `ecs:web_${TASK}_${TASK}-1234567890`;
  const s = await startSession(emu, { target });
  t.match(s.sessionId, /^emulator-/);
  t.equal(emu.state.sessions.get(s.sessionId)?.target, target);
  const web = emu.state.options.databases.ecsClusters[0];
  const stopped = web?.tasks[1];
  const noexec = web?.tasks[2];
  for (const task of [stopped, noexec]) {
    const c = task?.containers[0];
    await t.rejects(startSession(emu, { target: `ecs:web_${task?.id}_${c?.runtimeId}` }), {
      name: 'TargetNotConnected',
    });
  }
  await t.rejects(startSession(emu, { target: `ecs:web_${TASK}_wrong-1` }), { name: 'TargetNotConnected' });
});

t.test('emulator config: rds/elasticache/ecs entries are validated with file positions', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'emu.yaml');
  writeFileSync(
    file,
    [
      'rds:',
      '  instances:',
      '    - id: 1bad',
      '      port: 99999',
      '      to: { host: 10.0.0.1, port: 5432 }',
      'ecs:',
      '  clusters:',
      '    - name: web',
      '      tasks:',
      '        - id: nothex',
      '          containers: []',
      'apiPageSize: 0',
      '',
    ].join('\n'),
  );
  t.throws(() => loadEmulatorConfig(file), {
    code: 'ERR_EMULATOR_CONFIG',
    message:
      /emu\.yaml:3:\d+: rds\.instances\[0\]\.id: must start with a letter[\s\S]*rds\.instances\[0\]\.port: must be an integer port[\s\S]*rds\.instances\[0\]\.to: must be \{ host: <loopback address>[\s\S]*ecs\.clusters\[0\]\.tasks\[0\]\.id: must be 32 lowercase hex digits[\s\S]*containers: a task has at least one container[\s\S]*apiPageSize: must be an integer 1\.\.100/,
  });
});
