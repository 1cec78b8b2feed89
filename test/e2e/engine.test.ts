/** The engine against the emulator over real sockets: forwards, pools, remote hosts, failures, shutdown. */
import t from 'tap';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { forbiddenHostText, DEFAULT_INSTANCE_ID } from '../../src/emulator/index.js';
import { makeManager, sha, startEcho, startEmu, until } from '../helpers/engine-rig.js';
import { roundTrip } from '../helpers/round-trip.js';

const target = { kind: 'id' as const, id: DEFAULT_INSTANCE_ID };

t.test('many forwards at once, 200 concurrent sha256-checked connections each', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager, tokens, events } = makeManager(t, emu);
  const names = ['a', 'b', 'c'];
  for (const name of names)
    manager.add({
      name,
      target: { kind: 'name', name: 'demo' },
      remotePort: echo.port,
      localPort: 'auto',
      bind: ['127.0.0.1'],
    });
  await manager.start();
  t.same(
    manager.status().map((s) => s.state),
    ['ready', 'ready', 'ready'],
  );
  t.same(
    manager.status().map((s) => s.target),
    [DEFAULT_INSTANCE_ID, DEFAULT_INSTANCE_ID, DEFAULT_INSTANCE_ID],
  );
  await Promise.all(
    manager.forwards.map(async (f) => {
      const port = f.port ?? 0;
      const payloads = Array.from({ length: 200 }, (_, i) => randomBytes(2000 + ((i * 131) % 6000)));
      const back = await Promise.all(payloads.map((p) => roundTrip(port, p)));
      let bad = 0;
      back.forEach((b, i) => {
        if (sha(b) !== sha(payloads[i] as Buffer)) bad++;
      });
      t.equal(bad, 0, `${f.name}: all 200 echoes intact`);
      const st = f.status();
      t.equal(st.connections.total, 200);
      t.equal(st.connections.failed, 0);
      t.equal(
        st.bytesOut,
        payloads.reduce((n, p) => n + p.length, 0),
      );
    }),
  );
  // sessions: auto (the default) grows each pool under 200 concurrent connections, within its bound of 4.
  const starts = emu.state.calls.filter((c) => c.operation === 'StartSession').length;
  t.ok(starts >= 3 && starts <= 12, `${starts} StartSession calls: 1 to 4 per forward`);
  for (const f of manager.forwards) t.ok((f.status().pool?.opened ?? 0) <= 4, `${f.name}: at most 4 sessions`);
  const text = events.map((e) => JSON.stringify(e)).join('\n');
  t.ok(tokens.length >= 3);
  for (const tok of tokens) t.notOk(text.includes(tok), 'no token in events');
  t.notOk(text.includes(emu.credentials.secretAccessKey), 'no secret key in events');
  t.ok(events.every((e) => typeof e.time === 'string' && typeof e.type === 'string'));
});

t.test('a pool of sessions spreads connections over them', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager } = makeManager(t, emu);
  const f = manager.add({
    name: 'pool',
    target,
    remotePort: echo.port,
    localPort: 'auto',
    bind: ['127.0.0.1'],
    sessions: 3,
  });
  await manager.start();
  await until(f, 'event', () => f.status().sessions.length === 3);
  const perSession = new Map<string, number>();
  emu.events.on('stream', (e) => perSession.set(e.sessionId, (perSession.get(e.sessionId) ?? 0) + 1));
  const socks = Array.from({ length: 9 }, () => connect(f.port ?? 0, '127.0.0.1'));
  await Promise.all(
    socks.map(async (s, i) => {
      await once(s, 'connect');
      s.write(`x${i}`);
      await once(s, 'data');
    }),
  );
  t.same([...perSession.values()], [3, 3, 3], 'least-loaded: 3 streams on each of the 3 sessions');
  t.same(
    [...perSession.keys()].sort(),
    f
      .status()
      .sessions.map((s) => s.sessionId)
      .sort(),
  );
  t.equal(echo.sockets.size, 9);
  for (const s of socks) s.destroy();
});

t.test('basic-mode agent: one session per concurrent connection', async (t) => {
  const emu = await startEmu(t, {
    instances: [{ instanceId: DEFAULT_INSTANCE_ID, name: 'old', agentVersion: '3.0.196.0' }],
  });
  const echo = await startEcho(t);
  const { manager } = makeManager(t, emu);
  const f = manager.add({ name: 'basic', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  t.equal(f.status().sessions[0]?.mode, 'basic');
  const socks = Array.from({ length: 3 }, () => connect(f.port ?? 0, '127.0.0.1'));
  const payloads = socks.map(() => randomBytes(5000));
  await Promise.all(
    socks.map(async (s, i) => {
      await once(s, 'connect');
      const want = payloads[i] as Buffer;
      const got: Buffer[] = [];
      let n = 0;
      s.write(want);
      while (n < want.length) {
        const [b] = (await once(s, 'data')) as [Buffer];
        got.push(b);
        n += b.length;
      }
      t.equal(sha(Buffer.concat(got)), sha(want), `connection ${i} intact over its own session`);
    }),
  );
  // sessions: auto (the default) grows each pool under 200 concurrent connections, within its bound of 4.
  const starts = emu.state.calls.filter((c) => c.operation === 'StartSession').length;
  t.ok(starts >= 3 && starts <= 12, `${starts} StartSession calls: 1 to 4 per forward`);
  for (const f of manager.forwards) t.ok((f.status().pool?.opened ?? 0) <= 4, `${f.name}: at most 4 sessions`);
  for (const s of socks) s.destroy();
});

t.test('ToRemoteHost forwards through the agent to the named host', async (t) => {
  const echo = await startEcho(t);
  const emu = await startEmu(t, {
    destinations: [{ host: 'db.internal', port: 5432, to: { host: '127.0.0.1', port: echo.port } }],
  });
  const { manager } = makeManager(t, emu);
  const f = manager.add({
    name: 'rh',
    target,
    remoteHost: 'db.internal',
    remotePort: 5432,
    localPort: 'auto',
    bind: ['127.0.0.1'],
  });
  await manager.start();
  const p = randomBytes(40_000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p));
  const call = emu.state.calls.find((c) => c.operation === 'StartSession');
  t.match(call?.request, {
    DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
    Parameters: { host: ['db.internal'] },
  });
});

t.test(
  'a loopback host (localhost, 127.0.0.1, ::1) starts the plain document, which 3.3.4851.0 agents allow',
  async (t) => {
    const emu = await startEmu(t);
    const echo = await startEcho(t);
    const { manager } = makeManager(t, emu);
    const forwards = ['localhost', '127.0.0.1', '::1'].map((remoteHost, i) =>
      manager.add({
        name: `lo${i}`,
        target,
        remoteHost,
        remotePort: echo.port,
        localPort: 'auto',
        bind: ['127.0.0.1'],
      }),
    );
    await manager.start();
    for (const f of forwards) {
      t.equal(f.state, 'ready', f.spec.name);
      const p = randomBytes(20_000);
      t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), `${f.spec.name}: bytes intact`);
    }
    const starts = emu.state.calls.filter((c) => c.operation === 'StartSession');
    t.equal(starts.length, 3);
    for (const c of starts) {
      t.match(c.request, { DocumentName: 'AWS-StartPortForwardingSession' });
      t.notMatch(JSON.stringify(c.request), /"host"/, 'no host parameter');
    }
  },
);

t.test(
  'a name that resolves to loopback through ToRemoteHost is refused by a 3.3.4851.0 agent: permanent, clear',
  async (t) => {
    const emu = await startEmu(t, {}, { resolve: async () => ['127.0.0.1'] });
    const { manager } = makeManager(t, emu);
    const f = manager.add({
      name: 'self',
      target,
      remoteHost: 'me.internal',
      remotePort: 80,
      localPort: 'auto',
      bind: ['127.0.0.1'],
    });
    await manager.start();
    await until(f, 'state', () => f.state === 'failed');
    t.equal(f.error?.code, 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN');
    t.match(f.error?.message, forbiddenHostText('me.internal'));
    t.match(f.error?.message, /version 3\.3\.4851\.0/, 'names the agent version');
    t.match(f.error?.message, /loopback/, 'names the rule');
    t.match(f.error?.message, /use host localhost/, 'says what to do');
    t.equal(emu.state.calls.filter((c) => c.operation === 'StartSession').length, 1, 'not retried');
  },
);

t.test('a forbidden remote host fails that forward with the agent text; others keep running', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager } = makeManager(t, emu);
  const bad = manager.add({
    name: 'imds',
    target,
    remoteHost: '169.254.169.254',
    remotePort: 80,
    localPort: 'auto',
    bind: ['127.0.0.1'],
  });
  const good = manager.add({ name: 'ok', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  await until(bad, 'state', () => bad.state === 'failed');
  t.equal(bad.error?.code, 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN');
  // The agent's own text, prefixed with where it was refused, and what the rule is.
  t.match(bad.error?.message, `refused on the instance: ${forbiddenHostText('169.254.169.254')}`);
  t.match(bad.error?.message, /instance metadata/);
  t.equal(good.state, 'ready');
  const p = randomBytes(1000);
  t.equal(sha(await roundTrip(good.port ?? 0, p)), sha(p));
  t.equal(
    emu.state.calls.filter((c) => c.operation === 'StartSession' && JSON.stringify(c.request).includes('169.254'))
      .length,
    1,
    'not retried',
  );
});

t.test('AccessDenied fails the forward with the service text', async (t) => {
  const emu = await startEmu(t, { accessDeny: [{ action: 'ssm:StartSession' }] });
  const { manager } = makeManager(t, emu);
  const f = manager.add({ name: 'denied', target, remotePort: 80, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  t.equal(f.state, 'failed');
  t.equal(f.error?.code, 'ERR_AWS_ACCESS_DENIED');
  t.match(f.error?.message, /not authorized to perform: ssm:StartSession/);
});

t.test('an unknown Name is ERR_TUNNEL_TARGET_NOT_FOUND', async (t) => {
  const emu = await startEmu(t);
  const { manager } = makeManager(t, emu);
  const f = manager.add({
    name: 'nope',
    target: { kind: 'name', name: 'no-such-node' },
    remotePort: 80,
    localPort: 'auto',
  });
  await manager.start();
  t.equal(f.state, 'failed');
  t.equal(f.error?.code, 'ERR_TUNNEL_TARGET_NOT_FOUND');
});

t.test('destination refused: ConnectToPortError closes the local socket with a clear event', async (t) => {
  const emu = await startEmu(t);
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const a = closed.address();
  const deadPort = typeof a === 'object' && a !== null ? a.port : 0;
  await new Promise<void>((r) => closed.close(() => r()));
  const { manager, events } = makeManager(t, emu);
  const f = manager.add({ name: 'refused', target, remotePort: deadPort, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  const got = await roundTrip(f.port ?? 0, Buffer.from('hello'));
  t.equal(got.length, 0);
  await until(f, 'event', () => events.some((e) => e.type === 'connect-error'));
  const ev = events.find((e) => e.type === 'connect-error');
  t.equal(ev?.['message'], `the agent could not connect to localhost:${deadPort}`);
  t.equal(f.state, 'ready', 'the session stays up');
  t.equal(f.status().connections.failed, 1);
});

t.test('a busy local port is ERR_TUNNEL_PORT_IN_USE', async (t) => {
  const emu = await startEmu(t);
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())));
  const a = busy.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  const { manager } = makeManager(t, emu);
  const f = manager.add({ name: 'busy', target, remotePort: 80, localPort: port, bind: ['127.0.0.1'] });
  await manager.start();
  t.equal(f.state, 'failed');
  t.equal(f.error?.code, 'ERR_TUNNEL_PORT_IN_USE');
  t.equal(emu.state.calls.filter((c) => c.operation === 'StartSession').length, 0, 'no session was started');
});

t.test('stop terminates every open session on the service, within 2 s', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager } = makeManager(t, emu);
  manager.add({ name: 'x', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'], sessions: 2 });
  manager.add({ name: 'y', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  const x = manager.get('x');
  if (x === undefined) throw new Error('no x');
  await until(x, 'event', () => x.status().sessions.length === 2);
  const ids = manager.status().flatMap((s) => s.sessions.map((x) => x.sessionId));
  t.equal(ids.length, 3);
  const c = connect(manager.get('y')?.port ?? 0, '127.0.0.1');
  await once(c, 'connect');
  let code: string | undefined;
  c.on('error', (e: NodeJS.ErrnoException) => (code = e.code));
  const closed = new Promise((resolve) => c.on('close', resolve));
  const t0 = performance.now();
  await manager.stop();
  t.ok(performance.now() - t0 < 2000, 'within 2 s');
  await closed;
  t.equal(code, 'ECONNRESET', 'an open connection is reset on stop, never ended with a FIN');
  const terminated = emu.state.calls
    .filter((c) => c.operation === 'TerminateSession')
    .map((c) => (c.request as { SessionId: string }).SessionId);
  t.same([...terminated].sort(), [...ids].sort());
  t.same(
    manager.status().map((s) => s.state),
    ['stopped', 'stopped'],
  );
});

t.test('probe: ready when the agent reaches the destination, failed when it cannot', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const closed = createServer();
  closed.listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const a = closed.address();
  const deadPort = typeof a === 'object' && a !== null ? a.port : 0;
  await new Promise<void>((r) => closed.close(() => r()));
  const { manager, events } = makeManager(t, emu, { probeTimeoutMs: 150 });
  const good = manager.add({
    name: 'good',
    target,
    remotePort: echo.port,
    localPort: 'auto',
    bind: ['127.0.0.1'],
    probe: true,
  });
  const bad = manager.add({
    name: 'bad',
    target,
    remotePort: deadPort,
    localPort: 'auto',
    bind: ['127.0.0.1'],
    probe: true,
  });
  await manager.start();
  t.equal(good.state, 'ready');
  t.equal(bad.state, 'failed');
  t.equal(bad.error?.code, 'ERR_TUNNEL_PROBE_FAILED');
  t.match(bad.error?.message, `localhost:${deadPort}`);
  t.same(
    events
      .filter((e) => e.type === 'probe')
      .map((e) => [e.forward, e['ok']])
      .sort(),
    [
      ['bad', false],
      ['good', true],
    ],
  );
  t.equal(
    emu.state.calls.filter((c) => c.operation === 'TerminateSession').length,
    1,
    'the failed forward terminated its session',
  );
});

t.test('a remote FIN reaches the local client as EOF (the destination speaks first and closes)', async (t) => {
  const emu = await startEmu(t);
  const banner = createServer((s) => s.end('220 hello\r\n'));
  banner.listen(0, '127.0.0.1');
  await once(banner, 'listening');
  t.teardown(() => new Promise<void>((r) => banner.close(() => r())));
  const a = banner.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  const { manager } = makeManager(t, emu);
  const f = manager.add({ name: 'banner', target, remotePort: port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  const c = connect(f.port ?? 0, '127.0.0.1');
  let got = '';
  c.on('data', (b: Buffer) => (got += b.toString()));
  await once(c, 'end');
  t.equal(got, '220 hello\r\n');
  c.end();
  await once(c, 'close');
});
