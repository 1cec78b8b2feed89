import t from 'tap';
import { join } from 'node:path';
import {
  DEFAULT_REMOTE_HOST_DENY_LIST,
  loadEmulatorConfig,
  resolveEmulatorOptions,
} from '../../../src/emulator/options.js';
import { systemClock } from '../../../src/clock.js';
import { isTunnelError } from '../../../src/errors.js';

t.test('defaults: one Online demo instance, random credentials, agent pacing', async (t) => {
  const a = resolveEmulatorOptions();
  const b = resolveEmulatorOptions();
  t.equal(a.host, '127.0.0.1');
  t.equal(a.port, 0);
  t.equal(a.region, 'us-east-1');
  t.equal(a.pacing, 'agent');
  t.equal(a.clock, systemClock);
  t.equal(a.instances.length, 1);
  t.equal(a.instances[0]?.pingStatus, 'Online');
  t.equal(a.instances[0]?.agentVersion, '3.3.4851.0', 'the current agent (refuses loopback through ToRemoteHost)');
  t.equal(a.dataChannelAuth, 'optional');
  t.equal(a.resumeStreamUrl, 'fresh');
  t.same(a.instances[0]?.tags, { Name: 'demo' });
  t.equal(a.instances[0]?.resourceType, 'EC2Instance');
  t.match(a.credentials.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  t.equal(a.credentials.secretAccessKey.length, 40);
  t.not(a.credentials.secretAccessKey, b.credentials.secretAccessKey, 'random per start');
  t.same(a.remoteHostDenyList, DEFAULT_REMOTE_HOST_DENY_LIST);
  t.same(a.destinations, []);
  t.same(a.accessDeny, []);
  t.equal(a.idleTimeoutMs, 20 * 60_000);
  t.equal(a.maxSessionDurationMs, 0);
});

t.test('explicit settings are kept and instance defaults filled', async (t) => {
  const o = resolveEmulatorOptions({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' },
    instances: [{ instanceId: 'mi-0123456789abcdef0', name: 'db', tags: { Env: 'dev' }, pingStatus: 'Inactive' }],
    destinations: [{ port: 5432, to: { host: '127.0.0.1', port: 15432 } }],
    accessDeny: [{ action: 'ssm:StartSession' }],
    pacing: 'none',
    seed: 7,
  });
  t.same(o.credentials, { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' });
  t.same(o.instances[0]?.tags, { Env: 'dev', Name: 'db' });
  t.equal(o.instances[0]?.resourceType, 'ManagedInstance');
  t.equal(o.instances[0]?.pingStatus, 'Inactive');
  t.same(o.destinations, [{ instance: '*', host: 'localhost', port: 5432, to: { host: '127.0.0.1', port: 15432 } }]);
  t.same(o.accessDeny, [{ action: 'ssm:StartSession', resource: '*' }]);
  t.equal(o.seed, 7);
});

t.test('impossible options throw ERR_EMULATOR_CONFIG naming every problem', async (t) => {
  try {
    resolveEmulatorOptions({
      instances: [
        { instanceId: 'web-1' },
        { instanceId: 'i-0123456789abcdef0' },
        { instanceId: 'i-0123456789abcdef0' },
      ],
      destinations: [{ port: 80, to: { host: '10.0.0.5', port: 80 } }],
    });
    t.fail('expected a throw');
  } catch (e) {
    t.ok(isTunnelError(e, 'ERR_EMULATOR_CONFIG'));
    const m = (e as Error).message;
    t.match(m, /instances\[0\]\.instanceId/);
    t.match(m, /duplicate instance id/);
    t.match(m, /destinations\[0\]\.to\.host: must be a loopback address/);
  }
});

t.test('loadEmulatorConfig reads YAML', async (t) => {
  const dir = t.testdir({
    'emu.yaml': [
      'region: eu-west-1',
      'pacing: none',
      'instances:',
      '  - instanceId: i-0123456789abcdef0',
      '    name: web',
      '    tags: { Env: dev }',
      '  - instanceId: mi-0123456789abcdef0',
      '    pingStatus: ConnectionLost',
      'destinations:',
      '  - { port: 5432, to: { host: 127.0.0.1, port: 15432 } }',
      'faults:',
      '  failResumeOnce: true',
      '  dropRate: 0.01',
      '',
    ].join('\n'),
    'emu.json': JSON.stringify({ instances: [{ instanceId: 'i-0123456789abcdef0' }] }),
  });
  const o = loadEmulatorConfig(join(dir, 'emu.yaml'));
  t.equal(o.region, 'eu-west-1');
  t.equal(o.instances?.length, 2);
  t.same(o.instances?.[0]?.tags, { Env: 'dev' });
  t.same(o.faults, { failResumeOnce: true, dropRate: 0.01 });
  const resolved = resolveEmulatorOptions(o);
  t.equal(resolved.instances[1]?.pingStatus, 'ConnectionLost');
  t.equal(loadEmulatorConfig(join(dir, 'emu.json')).instances?.length, 1, 'JSON is YAML too');
});

t.test('loadEmulatorConfig reports file:line:col for each problem', async (t) => {
  const dir = t.testdir({
    'bad.yaml': [
      'region: eu-west-1',
      'instances:',
      '  - instanceId: i-0123456789abcdef0',
      '    pingStatus: Sleepy',
      'pacing: fast',
      'colour: blue',
      '',
    ].join('\n'),
    'broken.yaml': 'instances: [\n  { instanceId: i-1\n',
  });
  const file = join(dir, 'bad.yaml');
  try {
    loadEmulatorConfig(file);
    t.fail('expected a throw');
  } catch (e) {
    t.ok(isTunnelError(e, 'ERR_EMULATOR_CONFIG'));
    const m = (e as Error).message;
    t.match(m, `${file}:4:17: instances[0].pingStatus: must be one of Online, ConnectionLost, Inactive`);
    t.match(m, `${file}:5:9: pacing: must be 'agent' or 'none'`);
    t.match(m, `${file}:6:9: colour: unknown setting`);
  }
  const broken = join(dir, 'broken.yaml');
  try {
    loadEmulatorConfig(broken);
    t.fail('expected a throw');
  } catch (e) {
    t.ok(isTunnelError(e, 'ERR_EMULATOR_CONFIG'));
    t.match((e as Error).message, new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  }
  try {
    loadEmulatorConfig(join(dir, 'missing.yaml'));
    t.fail('expected a throw');
  } catch (e) {
    t.ok(isTunnelError(e, 'ERR_EMULATOR_CONFIG'));
  }
});

t.test('dataChannelAuth and resumeStreamUrl: accepted values, and a clear error otherwise', async (t) => {
  const o = resolveEmulatorOptions({ dataChannelAuth: 'required', resumeStreamUrl: 'same' });
  t.equal(o.dataChannelAuth, 'required');
  t.equal(o.resumeStreamUrl, 'same');
  t.throws(
    () => resolveEmulatorOptions({ dataChannelAuth: 'yes' as never, resumeStreamUrl: 'new' as never }),
    /dataChannelAuth: must be one of required, optional, off[\s\S]*resumeStreamUrl: must be one of fresh, same/,
  );
});
