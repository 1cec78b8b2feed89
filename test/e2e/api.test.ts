/** The public library API (src/index.ts): openForward, TunnelManager, errors. */
import t from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { openForward, TunnelManager, isTunnelError, type TunnelEvent } from '../../src/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { sha, startEcho } from '../helpers/engine-rig.js';
import { roundTrip } from '../helpers/round-trip.js';

t.test('openForward resolves a ready forward; stop() terminates its session', async (t) => {
  const emu = await startEmulator({ pacing: 'none' });
  t.teardown(() => emu.close());
  const echo = await startEcho(t);
  const aws = {
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: async () => ({ ...emu.credentials }),
    env: {},
  };
  const f = await openForward(
    { name: 'db', target: { kind: 'name', name: 'demo' }, remotePort: echo.port, localPort: 'auto' },
    { aws },
  );
  const events: TunnelEvent[] = [];
  f.on('event', (e: TunnelEvent) => events.push(e));
  t.equal(f.state, 'ready');
  t.ok(
    f.addresses.some((a) => a.address === '127.0.0.1'),
    'listens on 127.0.0.1 by default',
  );
  const p = randomBytes(3000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p));
  t.ok(
    events.some((e) => e.type === 'connection-closed' && e.forward === 'db'),
    'the forward emits events itself',
  );
  await f.stop();
  t.equal(emu.state.calls.filter((c) => c.operation === 'TerminateSession').length, 1);
  const c = connect(f.port ?? 0, '127.0.0.1');
  const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'ECONNREFUSED', 'the port is closed after stop');
});

t.test('openForward rejects with the forward error and leaves nothing listening', async (t) => {
  const emu = await startEmulator({ pacing: 'none', accessDeny: [{ action: 'ssm:StartSession' }] });
  t.teardown(() => emu.close());
  const aws = {
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: async () => ({ ...emu.credentials }),
    env: {},
  };
  const err = await openForward(
    { name: 'db', target: { kind: 'id', id: 'i-0123456789abcdef0' }, remotePort: 5432, localPort: 'auto' },
    { aws },
  ).catch((e: unknown) => e);
  t.ok(isTunnelError(err, 'ERR_AWS_ACCESS_DENIED'), String(err));
  t.match((err as Error).message, /not authorized/);
});

t.test('names are unique per manager; a non-loopback bind warns', async (t) => {
  const emu = await startEmulator({ pacing: 'none' });
  t.teardown(() => emu.close());
  const m = new TunnelManager({
    aws: { endpoint: emu.endpoint, region: emu.region, credentials: async () => ({ ...emu.credentials }), env: {} },
  });
  t.teardown(() => m.stop());
  const events: TunnelEvent[] = [];
  m.on('event', (e: TunnelEvent) => events.push(e));
  m.add({
    name: 'x',
    target: { kind: 'id', id: 'i-0123456789abcdef0' },
    remotePort: 80,
    localPort: 'auto',
    bind: ['0.0.0.0'],
    lazy: true,
  });
  t.throws(
    () => m.add({ name: 'x', target: { kind: 'id', id: 'i-0123456789abcdef0' }, remotePort: 81, localPort: 'auto' }),
    { code: 'ERR_TUNNEL_DUPLICATE_FORWARD' },
  );
  await m.start();
  t.equal(m.status()[0]?.state, 'ready');
  const w = events.find((e) => e.type === 'warning');
  t.match(String(w?.['message']), /0\.0\.0\.0.*not a loopback/);
});

t.test('an insecure endpoint is refused before anything starts', async (t) => {
  t.throws(() => new TunnelManager({ aws: { endpoint: 'http://ssm.example.com', region: 'us-east-1', env: {} } }), {
    code: 'ERR_AWS_INSECURE_ENDPOINT',
  });
});
