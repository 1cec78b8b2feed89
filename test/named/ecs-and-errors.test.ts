/**
 * Issue #19 through the built CLI against the emulator: ECS Exec targets by service and by task id
 * (both documents), raw `ecs:…_…_…` targets passed through, listings (`tunnel targets --rds/
 * --cache/--ecs`), and the errors: unknown names (with what exists), no bastion (both ways named),
 * several matches (listed), malformed instance ids (the expected form).
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cliProcessEnv } from '../helpers/emulator.js';
import { tunnelProc, tunnelRun } from '../helpers/tunnel-proc.js';
import { startEchoServer } from '../helpers/loopback.js';

const TASK_A = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const RUNTIME_A = `${TASK_A}-3141592653`;

async function emulator(t: Test, echoPort: number): Promise<Emulator> {
  const emu = await startEmulator({
    pacing: 'none',
    rds: {
      instances: [{ id: 'orders' }, { id: 'shop' }, { id: 'legacy', engine: 'mysql' }],
      clusters: [{ id: 'shop' }, { id: 'analytics' }],
    },
    elasticache: { replicationGroups: [{ id: 'sessions' }], serverless: [{ name: 'sessions' }, { name: 'events' }] },
    ecs: {
      clusters: [
        {
          name: 'web',
          tasks: [
            { id: TASK_A, service: 'api', containers: [{ name: 'app', runtimeId: RUNTIME_A }] },
            { service: 'worker', containers: [{ name: 'main' }, { name: 'sidecar' }] },
            { service: 'old', status: 'STOPPED', containers: [{ name: 'app' }] },
          ],
        },
      ],
    },
    destinations: [{ host: 'svc.internal', port: 7000, to: { host: '127.0.0.1', port: echoPort } }],
  });
  t.teardown(() => emu.close());
  return emu;
}

async function echo(port: number, text: string): Promise<string> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  s.write(text);
  let got = '';
  for (let i = 0; i < 1000 && got.length < text.length; i++) {
    const [d] = (await once(s, 'data')) as [Buffer];
    got += d.toString();
  }
  s.destroy();
  return got;
}

function startTargets(emu: Emulator): string[] {
  return emu.state.calls
    .filter((c) => c.operation === 'StartSession' && c.errorCode === undefined)
    .map((c) => String((c.request as { Target?: string }).Target));
}

t.test('ECS Exec targets: by service, by task id (+container), raw; both documents', async (t) => {
  const server = await startEchoServer(t);
  const emu = await emulator(t, server.port);
  const dir = t.testdir({});
  const env = cliProcessEnv(emu, dir);
  const raw = `ecs:web_${TASK_A}_${RUNTIME_A}`;
  const cases: Array<[string, string]> = [
    ['by service', `ecs:web/api:${server.port}:auto`],
    ['by task id and container', `ecs:web/${TASK_A}/app:${server.port}:auto`],
    ['raw target passed through', `${raw}:${server.port}:auto`],
    ['ToRemoteHost through the task', `ecs:web/api:svc.internal:7000:auto`],
  ];
  for (const [label, spec] of cases) {
    await t.test(label, async (t) => {
      const before = startTargets(emu).length;
      const p = tunnelProc(t, ['--no-user-config', spec], { cwd: dir, env });
      const m = await p.waitFor(/^\S+\s+127\.0\.0\.1:(\d+) .*-> (ecs:\S+) /m);
      t.equal(m[2], raw, 'the session target is ecs:<cluster>_<task>_<runtime>');
      t.equal(await echo(Number(m[1]), `through ${label}`), `through ${label}`, 'bytes come back through the task');
      t.same(startTargets(emu).slice(before), [raw], 'StartSession got the resolved target');
      p.child.kill('SIGINT');
      t.equal((await p.exit).code, 0);
    });
  }
  const docs = emu.state.calls
    .filter((c) => c.operation === 'StartSession')
    .map((c) => String((c.request as { DocumentName?: string }).DocumentName));
  t.ok(docs.includes('AWS-StartPortForwardingSession'), 'AWS-StartPortForwardingSession used');
  t.ok(docs.includes('AWS-StartPortForwardingSessionToRemoteHost'), 'ToRemoteHost used');
});

t.test('listings: targets --rds, --cache, --ecs CLUSTER', async (t) => {
  const emu = await emulator(t, 9);
  const dir = t.testdir({});
  const env = cliProcessEnv(emu, dir);
  const rds = await tunnelRun(t, ['--no-user-config', 'targets', '--rds'], { cwd: dir, env });
  t.equal(rds.code, 0, rds.stderr);
  t.match(rds.stdout, /^NAME\s+ENGINE\s+ENDPOINT\s+PORT\s+KIND$/m);
  t.match(rds.stdout, /^rds:analytics\s+aurora-postgresql\s+analytics\.cluster-\S+\s+5432\s+cluster$/m);
  t.match(rds.stdout, /^rds:analytics\/reader\s+aurora-postgresql\s+analytics\.cluster-ro-\S+\s+5432\s+reader$/m);
  t.match(rds.stdout, /^rds:legacy\s+mysql\s+legacy\.\S+\s+3306\s+instance$/m);
  const cache = await tunnelRun(t, ['--no-user-config', 'targets', '--cache', '--json'], { cwd: dir, env });
  const rows = cache.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; kind: string; port: number });
  t.same(
    rows.filter((r) => !r.name.includes('/')).map((r) => `${r.kind}:${r.name}:${r.port}`),
    ['replication-group:sessions:6379', 'serverless:sessions:6379', 'serverless:events:6379'],
  );
  const ecs = await tunnelRun(t, ['--no-user-config', 'targets', '--ecs', 'web'], { cwd: dir, env });
  t.equal(ecs.code, 0, ecs.stderr);
  t.match(
    ecs.stdout,
    new RegExp(`^ecs:web/${TASK_A}/app\\s+api\\s+RUNNING\\s+RUNNING\\s+ecs:web_${TASK_A}_${RUNTIME_A}$`, 'm'),
  );
  t.match(ecs.stdout, /^ecs:web\/[0-9a-f]{32}\/sidecar\s+worker\s+RUNNING/m, 'every container of every running task');
  t.notMatch(ecs.stdout, /\bold\b/, 'stopped tasks are not listed');
});

t.test('errors: unknown names, no bastion, several matches, malformed ids', async (t) => {
  const emu = await emulator(t, 9);
  const dir = t.testdir({});
  const env = cliProcessEnv(emu, dir);
  const run = (args: string[]) => tunnelRun(t, ['--no-user-config', ...args], { cwd: dir, env });

  const unknown = await run(['demo:rds:ordrs']);
  t.equal(unknown.code, 69, 'unknown database: exit 69');
  t.match(unknown.stderr, /no DB instance or Aurora cluster named "ordrs"/);
  t.match(unknown.stderr, /known: .*orders/, 'lists what exists');
  t.match(unknown.stderr, /tunnel targets --rds/, 'points at the listing');

  const cacheUnknown = await run(['demo:cache:nope']);
  t.equal(cacheUnknown.code, 69);
  t.match(cacheUnknown.stderr, /known: sessions, sessions \(serverless\), events \(serverless\)/);

  const noBastion = await run(['rds:orders']);
  t.equal(noBastion.code, 78, 'no bastion: exit 78 (configuration)');
  t.match(noBastion.stderr, /TARGET:rds:orders/, 'names the command-line way');
  t.match(noBastion.stderr, /bastion: TARGET/, 'names the config way');

  const cfgDir = t.testdir({ '.tunnel.yaml': 'forwards:\n  db:\n    rds: orders\n' });
  const noBastionCfg = await tunnelRun(t, ['--no-user-config', 'up', 'db'], {
    cwd: cfgDir,
    env: cliProcessEnv(emu, cfgDir),
  });
  t.equal(noBastionCfg.code, 78);
  t.match(noBastionCfg.stderr, /forwards\.db\.target/);
  t.match(noBastionCfg.stderr, /bastion:/);

  const several = await run(['demo:rds:shop']);
  t.equal(several.code, 69, 'several matches: exit 69');
  t.match(several.stderr, /rds:shop matches 2 databases: Aurora cluster shop .*; DB instance shop /, 'both listed');
  t.match(several.stderr, /rds:shop\/writer .* rds:shop\/instance/, 'and how to pick one');

  const severalCaches = await run(['demo:cache:sessions']);
  t.equal(severalCaches.code, 69);
  t.match(severalCaches.stderr, /matches 2 caches: replication-group sessions .*; serverless sessions /);

  const containers = await run(['ecs:web/worker:80']);
  t.equal(containers.code, 69, 'a task with several containers and none named');
  t.match(containers.stderr, /has 2 containers: main, sidecar/);
  t.match(containers.stderr, /ecs:web\/worker\/main/, 'suggests naming one');

  const noService = await run(['ecs:web/nope:80']);
  t.equal(noService.code, 69);
  t.match(noService.stderr, /no ECS service "nope" in cluster web/);
  t.match(noService.stderr, /tunnel targets --ecs CLUSTER/);

  const stopped = await run(['ecs:web/old:80']);
  t.equal(stopped.code, 69);
  t.match(stopped.stderr, /no running task/);

  const noCluster = await run(['ecs:nope/api:80']);
  t.equal(noCluster.code, 69);
  t.match(noCluster.stderr, /no ECS cluster named "nope"; known: web/);

  const badEcs = await run(['ecs:web:80']);
  t.equal(badEcs.code, 2);
  t.match(badEcs.stderr, /expected ecs:CLUSTER\/SERVICE\[\/CONTAINER\], ecs:CLUSTER\/TASK_ID\[\/CONTAINER\]/);

  for (const id of ['i-123', 'i-0123456789abcdefg', 'mi-12345']) {
    const bad = await run([`${id}:80`]);
    t.equal(bad.code, 2, `${id}: usage error`);
    t.match(bad.stderr, /is not an instance id: ids are i- followed by 8 or 17 hex digits/, `${id}: names the form`);
    t.notMatch(bad.stderr, /Name=/, `${id}: never looked up as a Name tag`);
  }
  t.notOk(
    emu.state.calls.some(
      (c) => c.operation === 'DescribeInstanceInformation' && JSON.stringify(c.request).includes('i-123'),
    ),
    'no DescribeInstanceInformation for a malformed id',
  );

  const badCfg = t.testdir({ '.tunnel.yaml': 'forwards:\n  db:\n    target: i-123\n    remotePort: 80\n' });
  const cfg = await tunnelRun(t, ['--no-user-config', 'up', 'db'], { cwd: badCfg, env: cliProcessEnv(emu, badCfg) });
  t.equal(cfg.code, 78, 'a malformed id in the config is a config error');
  t.match(cfg.stderr, /i-123/);
});
