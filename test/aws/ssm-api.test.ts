/** createSsmApi against the emulator's SSM JSON API (real SDK, real SigV4, loopback http). */
import t from 'tap';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { startEmulator, DEFAULT_INSTANCE_ID } from '../../src/emulator/index.js';
import { createSsmApi, portForwardingRequest } from '../../src/aws/ssm-api.js';
import { isTunnelError } from '../../src/errors.js';

t.test('the typed API against the emulator', async (t) => {
  const emu = await startEmulator({
    pacing: 'none',
    instances: [
      { instanceId: DEFAULT_INSTANCE_ID, name: 'db', tags: { Env: 'prod' } },
      { instanceId: 'i-0fedcba9876543210', name: 'web', tags: { Env: 'prod' }, pingStatus: 'ConnectionLost' },
    ],
    accessDeny: [{ action: 'ssm:StartSession', resource: 'i-0fedcba9876543211' }],
  });
  t.teardown(() => emu.close());
  let provided = 0;
  const api = createSsmApi({
    endpoint: emu.endpoint,
    region: emu.region,
    maxAttempts: 1,
    env: {},
    credentials: async () => {
      provided++;
      return { ...emu.credentials };
    },
  });

  t.test('StartSession / ResumeSession / TerminateSession', async (t) => {
    const before = provided;
    const g = await api.startSession(portForwardingRequest({ target: DEFAULT_INSTANCE_ID, remotePort: 5432 }));
    t.match(g.sessionId, /^emulator-[0-9a-f]{17}$/);
    t.match(g.streamUrl, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/data-channel\//);
    t.ok(g.tokenValue.length > 10);
    const r = await api.resumeSession(g.sessionId);
    t.equal(r?.sessionId, g.sessionId);
    t.not(r?.tokenValue, g.tokenValue);
    await api.terminateSession(g.sessionId);
    t.ok(provided - before >= 3, `credentials re-read before each signing (${provided - before} reads for 3 calls)`);
    const req = emu.state.calls.find((c) => c.operation === 'StartSession')?.request;
    t.match(req, {
      Target: DEFAULT_INSTANCE_ID,
      DocumentName: 'AWS-StartPortForwardingSession',
      Parameters: { portNumber: ['5432'] },
    });
  });

  t.test('DescribeInstanceInformation with tag filters, and ListTagsForResource', async (t) => {
    const prod = await api.describeInstances([{ key: 'tag:Env', values: ['prod'] }]);
    t.same(prod.map((i) => i.instanceId).sort(), [DEFAULT_INSTANCE_ID, 'i-0fedcba9876543210'].sort());
    const db = await api.describeInstances([{ key: 'tag:Name', values: ['db'] }]);
    t.same(
      db.map((i) => i.instanceId),
      [DEFAULT_INSTANCE_ID],
    );
    t.equal(db[0]?.pingStatus, 'Online');
    const tags = await api.listTags(DEFAULT_INSTANCE_ID);
    t.match(tags, { Name: 'db', Env: 'prod' });
  });

  t.test('service errors keep their text and get stable codes', async (t) => {
    const offline = await api
      .startSession(portForwardingRequest({ target: 'i-0fedcba9876543210', remotePort: 80 }))
      .catch((e: unknown) => e);
    t.ok(isTunnelError(offline, 'ERR_AWS_TARGET_NOT_CONNECTED'), String(offline));
    t.match((offline as Error).message, /i-0fedcba9876543210/);
    const bad = await api
      .startSession({
        target: DEFAULT_INSTANCE_ID,
        documentName: 'AWS-StartPortForwardingSession',
        parameters: { portNumber: ['http'] },
      })
      .catch((e: unknown) => e);
    t.ok(isTunnelError(bad, 'ERR_AWS_INVALID_PARAMETERS'), String(bad));
    const doc = await api
      .startSession({ target: DEFAULT_INSTANCE_ID, documentName: 'No-Such-Document', parameters: {} })
      .catch((e: unknown) => e);
    t.ok(isTunnelError(doc, 'ERR_AWS_INVALID_DOCUMENT'), String(doc));
  });

  t.test('wrong keys are ERR_AWS_CREDENTIALS', async (t) => {
    const wrong = createSsmApi({
      endpoint: emu.endpoint,
      region: emu.region,
      maxAttempts: 1,
      env: {},
      credentials: async () => ({ accessKeyId: emu.credentials.accessKeyId, secretAccessKey: 'x'.repeat(40) }),
    });
    const e = await wrong.describeInstances([]).catch((x: unknown) => x);
    t.ok(isTunnelError(e, 'ERR_AWS_CREDENTIALS'), String(e));
  });
});

t.test('a closed endpoint is ERR_AWS_ENDPOINT_UNREACHABLE', async (t) => {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const a = srv.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  const api = createSsmApi({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    maxAttempts: 1,
    env: {},
    credentials: async () => ({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }),
  });
  const e = await api.terminateSession('s-1').catch((x: unknown) => x);
  t.ok(isTunnelError(e, 'ERR_AWS_ENDPOINT_UNREACHABLE'), String(e));
});
