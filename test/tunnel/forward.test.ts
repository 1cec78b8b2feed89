/** Engine behaviour with fake ports (no emulator): pool, lifecycle, never-die, failures, events. */
import t from 'tap';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { AwsError } from '../../src/errors.js';
import { seededRandom } from '../../src/tunnel/backoff.js';
import type { TunnelEvent } from '../../src/tunnel/events.js';
import { Forward, type ForwardDeps } from '../../src/tunnel/forward.js';
import type { ForwardSpec } from '../../src/tunnel/forward-spec.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeApi, FakeFactory, type FakeMux } from './fakes.js';
import { roundTrip } from '../helpers/round-trip.js';
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';

function setup(spec: Partial<ForwardSpec> = {}, opts: { clock?: Clock } = {}) {
  const api = new FakeApi();
  const factory = new FakeFactory();
  const events: TunnelEvent[] = [];
  const deps: ForwardDeps = {
    api,
    factory,
    clock: opts.clock ?? systemClock,
    random: seededRandom(1),
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 },
    startAttempts: 2,
    probeTimeoutMs: 50,
    basicSpareLingerMs: 1000,
    maxBasicSessions: 8,
    maxPending: 100,
    secrets: new Set(),
    emit: (e) => events.push(e),
  };
  const f = new Forward(
    {
      name: 'db',
      target: { kind: 'id', id: 'i-0123456789abcdef0' },
      remotePort: 5432,
      localPort: 'auto',
      bind: ['127.0.0.1'],
      ...spec,
    },
    deps,
  );
  return { api, factory, events, f, deps };
}

/** Resolves on 'close' with the socket's error code (undefined for a clean close). */
function closeCode(c: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let code: string | undefined;
    c.on('error', (e: NodeJS.ErrnoException) => (code = e.code));
    c.on('close', () => resolve(code));
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('eager mux forward: ready, echoes many concurrent connections intact, counts them', async (t) => {
  const { f, api, events } = setup();
  t.teardown(() => f.stop());
  await f.start();
  t.equal(f.state, 'ready');
  t.equal(api.started.length, 1);
  t.same(api.started[0]?.parameters, { portNumber: ['5432'], localPortNumber: ['0'] });
  t.equal(api.started[0]?.documentName, 'AWS-StartPortForwardingSession');
  const port = f.port ?? 0;
  const payloads = Array.from({ length: 30 }, (_, i) => randomBytes(1000 + i * 97));
  const back = await Promise.all(payloads.map((p) => roundTrip(port, p)));
  back.forEach((b, i) => t.equal(sha(b), sha(payloads[i] as Buffer), `connection ${i}`));
  const st = f.status();
  t.equal(st.connections.total, 30);
  t.equal(st.connections.active, 0);
  t.equal(st.connections.failed, 0);
  const total = payloads.reduce((n, p) => n + p.length, 0);
  t.equal(st.bytesOut, total);
  t.equal(st.bytesIn, total);
  t.equal(st.sessions.length, 1);
  t.equal(st.sessions[0]?.mode, 'mux');
  t.ok(events.some((e) => e.type === 'session-started'));
});

t.test('a pool of N sessions, new connections to the least loaded', async (t) => {
  const { f, api, factory } = setup({ sessions: 3 });
  t.teardown(() => f.stop());
  await f.start();
  // The first session makes it ready; the others follow.
  while (f.status().sessions.length < 3) await once(f, 'event');
  t.equal(api.started.length, 3);
  const port = f.port ?? 0;
  const socks = Array.from({ length: 6 }, () => connect(port, '127.0.0.1'));
  await Promise.all(socks.map((s) => once(s, 'connect')));
  while (factory.channels.reduce((n, c) => n + (c.mux?.streams.length ?? 0), 0) < 6) await once(f, 'event');
  t.same(
    factory.channels.map((c) => c.mux?.streams.length),
    [2, 2, 2],
  );
  for (const s of socks) s.destroy();
});

t.test('sessions: auto — 16 concurrent connections get 4 sessions of 4; sessions: 1 keeps one', async (t) => {
  for (const [sessions, want] of [
    [undefined, [4, 4, 4, 4]],
    [1, [16]],
  ] as const) {
    const { f, api, factory } = setup(sessions === undefined ? {} : { sessions });
    await f.start();
    const socks = Array.from({ length: 16 }, () => connect(f.port ?? 0, '127.0.0.1'));
    await Promise.all(socks.map((s) => once(s, 'connect')));
    while (factory.channels.reduce((n, c) => n + (c.mux?.streams.length ?? 0), 0) < 16) await once(f, 'event');
    t.same(
      factory.channels.map((c) => c.mux?.streams.length),
      want,
      `sessions: ${String(sessions ?? 'auto')}`,
    );
    t.equal(api.started.length, want.length);
    t.equal(f.status().pool?.sessions, want.length, 'the status shows the session count');
    for (const s of socks) s.destroy();
    await f.stop();
  }
});

/** Open one connection and wait until the first session's mux carries it. */
async function firstConnection(f: Forward, factory: FakeFactory): Promise<{ first: Socket; mux0: FakeMux }> {
  const first = connect(f.port ?? 0, '127.0.0.1');
  await once(first, 'connect');
  while ((factory.channels[0]?.mux?.streams.length ?? 0) < 1) await once(f, 'event');
  const mux0 = factory.channels[0]?.mux;
  if (mux0 === undefined) throw new Error('no mux');
  return { first, mux0 };
}

t.test('a stalled session gets no new connection: another session is opened for it', async (t) => {
  const { f, api, factory, events } = setup();
  t.teardown(() => f.stop());
  await f.start();
  const { first, mux0 } = await firstConnection(f, factory);
  mux0.stalled = true; // its reader stopped reading
  const p = randomBytes(4000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), 'the new connection is carried');
  t.equal(api.started.length, 2, 'by a second session');
  t.equal(mux0.streams.length, 1, 'not by the stalled one');
  t.equal(factory.channels[1]?.mux?.streams.length, 1);
  t.ok(
    events.some((e) => e.type === 'session-started' && e['sessions'] === 2),
    'events carry the session count',
  );
  first.destroy();
});

t.test('sessions: 1 and its one session stalled: a new connection shares it instead of hanging', async (t) => {
  const { f, api, factory } = setup({ sessions: 1 });
  t.teardown(() => f.stop());
  await f.start();
  const { first, mux0 } = await firstConnection(f, factory);
  mux0.stalled = true; // its reader stopped reading, and the pool may not grow
  const p = randomBytes(4000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), 'the new connection is carried');
  t.equal(api.started.length, 1, 'no second session (the bound is 1)');
  t.equal(mux0.streams.length, 2, 'by the stalled session');
  first.destroy();
});

t.test(
  'never-die: channel_closed drops in-flight connections, a fresh session replaces it, the port stays',
  async (t) => {
    const { f, api, factory, events } = setup();
    t.teardown(() => f.stop());
    await f.start();
    const port = f.port ?? 0;
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    c.write('x');
    await once(c, 'data');
    const closed = closeCode(c);
    factory.channels[0]?.serviceClose('Your session timed out due to inactivity and has been terminated.');
    t.equal(await closed, 'ECONNRESET', 'a lost session resets its connections');
    while (f.status().sessions.length < 1 || api.started.length < 2) await once(f, 'event');
    t.equal(f.state, 'ready');
    const st = f.status();
    t.equal(st.reconnects, 1);
    t.equal(st.connections.failed, 1);
    const ended = events.find((e) => e.type === 'session-ended');
    t.equal(ended?.['droppedConnections'], 1);
    t.match(String(ended?.['message']), /inactivity/);
    const p = randomBytes(5000);
    t.equal(sha(await roundTrip(port, p)), sha(p), 'new connections work on the fresh session');
    t.ok(events.some((e) => e.type === 'forward-state' && e['state'] === 'reconnecting'));
  },
);

t.test('a forbidden remote host fails the forward with the agent text, without retrying', async (t) => {
  const { f, api, factory } = setup({ remoteHost: '169.254.169.254', remotePort: 80 });
  factory.closeAfterOpen = 'Forwarding to IP address 169.254.169.254 is forbidden.';
  t.teardown(() => f.stop());
  await f.start();
  while (f.state !== 'failed') await once(f, 'state');
  t.equal(f.error?.code, 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN');
  t.match(
    f.error?.message,
    /^refused on the instance: Forwarding to IP address 169\.254\.169\.254 is forbidden\. .*Not retried\.$/,
  );
  t.equal(api.started[0]?.documentName, 'AWS-StartPortForwardingSessionToRemoteHost');
  t.same(api.started[0]?.parameters['host'], ['169.254.169.254']);
  t.equal(api.started.length, 1, 'not retried');
});

t.test('AccessDenied is permanent: failed with the service text', async (t) => {
  const { f, api } = setup();
  const text = 'User: arn:aws:iam::123456789012:user/x is not authorized to perform: ssm:StartSession';
  api.startErrors.push(new AwsError('ERR_AWS_ACCESS_DENIED', text));
  await f.start();
  t.equal(f.state, 'failed');
  t.match(f.error, { code: 'ERR_AWS_ACCESS_DENIED', message: text });
  t.type(f.error, AwsError, 'the typed error itself is kept, not a {code: string} copy');
  t.same(f.status().error, { code: 'ERR_AWS_ACCESS_DENIED', message: text }, 'status carries code and message');
  t.equal(api.started.length, 1);
  await f.stop();
});

t.test('transient start failures retry with backoff on the injected clock', async (t) => {
  const clock = new FakeClock();
  const { f, api, events } = setup({}, { clock });
  api.startErrors.push(new AwsError('ERR_AWS_ENDPOINT_UNREACHABLE', 'connect ECONNREFUSED'));
  const started = f.start();
  while (!events.some((e) => e.type === 'retry-scheduled')) await once(f, 'event');
  const retry = events.find((e) => e.type === 'retry-scheduled');
  const delay = Number(retry?.['delayMs']);
  t.ok(delay >= 50 && delay <= 100, `first delay ${delay} within [50,100]`);
  t.equal(api.started.length, 1);
  clock.advance(delay - 1);
  t.equal(api.started.length, 1, 'not before the delay');
  clock.advance(1);
  await started;
  t.equal(api.started.length, 2);
  t.equal(f.state, 'ready');
  await f.stop();
});

t.test('lazy: no session until the first connection, idle close terminates it', async (t) => {
  const clock = new FakeClock();
  const { f, api, events } = setup({ lazy: true, idleTimeoutMs: 60_000 }, { clock });
  t.teardown(() => f.stop());
  await f.start();
  t.equal(f.state, 'ready');
  t.equal(api.started.length, 0);
  const p = randomBytes(3000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p));
  t.equal(api.started.length, 1);
  clock.advance(59_999);
  t.equal(api.terminated.length, 0);
  clock.advance(1);
  while (api.terminated.length === 0) await new Promise((r) => setImmediate(r));
  t.ok(events.some((e) => e.type === 'idle-close'));
  t.equal(f.status().sessions.length, 0);
  t.equal(f.state, 'ready');
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), 'a new connection starts a new session');
  t.equal(api.started.length, 2);
});

t.test('ConnectToPortError closes that local connection and emits a clear event', async (t) => {
  const { f, factory, events } = setup();
  t.teardown(() => f.stop());
  await f.start();
  const mux = factory.channels[0]?.mux;
  if (mux === undefined) throw new Error('no mux');
  mux.refuseNext = factory.channels[0];
  const c = connect(f.port ?? 0, '127.0.0.1');
  c.resume();
  await once(c, 'close');
  const ev = events.find((e) => e.type === 'connect-error');
  t.equal(ev?.['message'], 'the agent could not connect to localhost:5432');
  t.equal(f.status().connections.failed, 1);
  t.equal(f.state, 'ready', 'the session continues');
});

t.test('basic-mode agents: one session per concurrent connection', async (t) => {
  const { f, api, factory } = setup();
  factory.hs = { ...factory.hs, agentVersion: '3.0.196.0', portMode: 'basic', canSendTerminateFlag: true };
  t.teardown(() => f.stop());
  await f.start();
  // Four connections held open at once: each needs its own basic-mode session.
  const socks = Array.from({ length: 4 }, () => connect(f.port ?? 0, '127.0.0.1'));
  await Promise.all(
    socks.map(async (s, i) => {
      await once(s, 'connect');
      s.write(`hello ${i}`);
      const [b] = (await once(s, 'data')) as [Buffer];
      t.equal(b.toString(), `hello ${i}`);
    }),
  );
  t.equal(api.started.length, 4, '4 sessions for 4 concurrent connections');
  t.equal(
    f.status().sessions.every((x) => x.mode === 'basic'),
    true,
  );
  await Promise.all(
    socks.map(async (s) => {
      s.end();
      await once(s, 'close');
    }),
  );
  const p = randomBytes(2048);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), 'a freed session carries the next connection');
  t.equal(api.started.length, 4, 'no new session for it');
  t.ok(
    factory.channels.some((c) => c.flags.includes(1)),
    'DisconnectToPort sent when a connection ends',
  );
});

t.test('stop terminates every session and events never carry tokens', async (t) => {
  const { f, api, events, factory } = setup({ sessions: 2 });
  await f.start();
  while (f.status().sessions.length < 2) await once(f, 'event');
  await f.stop();
  t.equal(f.state, 'stopped');
  t.same([...api.terminated].sort(), ['user-00000000000000001', 'user-00000000000000002']);
  t.ok(factory.channels.every((c) => c.terminated));
  const text = events.map((e) => JSON.stringify(e)).join('\n');
  t.notMatch(text, /SECRET-TOKEN/);
});

t.test('connections waiting for a session are closed after the second failed start, and counted', async (t) => {
  const clock = new FakeClock();
  const { f, api, events } = setup({ lazy: true }, { clock });
  t.teardown(() => f.stop());
  await f.start();
  api.startErrors.push(
    new AwsError('ERR_AWS_THROTTLED', 'Rate exceeded'),
    new AwsError('ERR_AWS_THROTTLED', 'Rate exceeded'),
  );
  const c = connect(f.port ?? 0, '127.0.0.1');
  const closed = closeCode(c);
  while (!events.some((e) => e.type === 'retry-scheduled')) await once(f, 'event');
  t.equal(f.status().connections.active, 1, 'still waiting after the first failure');
  clock.advance(Number(events.find((e) => e.type === 'retry-scheduled')?.['delayMs']));
  t.equal(await closed, 'ECONNRESET', 'the waiting client is told with a reset');
  while (f.status().connections.active !== 0) await once(f, 'event');
  t.equal(api.started.length, 2);
  t.equal(f.status().connections.failed, 1);
  t.equal(f.state, 'reconnecting');
  clock.advance(1000);
  t.equal(f.state, 'ready', 'a lazy forward with nothing waiting settles back to ready');
  t.equal(api.started.length, 2, 'and starts no session until the next connection');
});
