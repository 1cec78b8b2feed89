/**
 * tunnel/tunnel-session.ts on its own, over the fakes of test/tunnel/fakes.ts (StartSession API,
 * data channel, smux) and a fake clock; local connections are real sockets on 127.0.0.1.
 */
import { once } from 'node:events';
import t from 'tap';
import type { StartSessionInput } from '../../src/aws/ssm-api.js';
import { isTunnelError } from '../../src/errors.js';
import { Connection } from '../../src/tunnel/connection.js';
import { FLAG_DISCONNECT_TO_PORT } from '../../src/tunnel/session-ports.js';
import { TunnelSession, type SessionEnd, type TunnelSessionOptions } from '../../src/tunnel/tunnel-session.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { collect, judge, listen } from '../helpers/local-pair.js';
import { FakeApi, FakeFactory, type FakeChannel, type FakeMux } from './fakes.js';

interface Rig {
  session: TunnelSession;
  api: FakeApi;
  factory: FakeFactory;
  clock: FakeClock;
  secrets: string[];
  ends: SessionEnd[];
  channel(): FakeChannel;
  mux(): FakeMux;
}

function rig(o: { portMode?: 'mux' | 'basic'; canSendTerminateFlag?: boolean; api?: FakeApi } = {}): Rig {
  const api = o.api ?? new FakeApi();
  const factory = new FakeFactory();
  factory.hs = {
    ...factory.hs,
    ...(o.portMode === 'basic' ? { agentVersion: '3.0.196.0', portMode: 'basic' } : {}),
    ...(o.canSendTerminateFlag === undefined ? {} : { canSendTerminateFlag: o.canSendTerminateFlag }),
  };
  const clock = new FakeClock();
  const secrets: string[] = [];
  const options: TunnelSessionOptions = {
    api,
    factory,
    clock,
    targetId: 'i-0123456789abcdef0',
    remotePort: 5432,
    remoteHost: 'db.internal',
    reason: 'tests',
    onSecret: (s) => secrets.push(s),
  };
  const session = new TunnelSession(options);
  const ends: SessionEnd[] = [];
  session.on('end', (e: SessionEnd) => ends.push(e));
  return {
    session,
    api,
    factory,
    clock,
    secrets,
    ends,
    channel: () => {
      const c = factory.channels[0];
      if (c === undefined) throw new Error('no channel');
      return c;
    },
    mux: () => {
      const m = factory.channels[0]?.mux;
      if (m === undefined) throw new Error('no mux');
      return m;
    },
  };
}

/** Hooks for attach(), recording closes. */
function hooks() {
  const closes: Array<{ conn: Connection; error: Error | undefined }> = [];
  let closed!: () => void;
  const onceClosed = new Promise<void>((r) => (closed = r));
  return {
    closes,
    closed: onceClosed,
    onBytesIn: () => {},
    onBytesOut: () => {},
    onClose: (conn: Connection, error: Error | undefined) => {
      closes.push({ conn, error });
      closed();
    },
  };
}

t.test('start(): StartSession with the port document, the channel opened with its grant, ready', async (t) => {
  const r = rig();
  t.equal(r.session.ready, false);
  const starting = r.session.start();
  t.equal(r.session.progress(), 'waiting for the StartSession answer');
  const hs = await starting;
  t.equal(hs.portMode, 'mux');
  t.same(r.api.started, [
    {
      target: 'i-0123456789abcdef0',
      documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      parameters: { portNumber: ['5432'], localPortNumber: ['0'], host: ['db.internal'] },
      reason: 'tests',
    } satisfies StartSessionInput,
  ]);
  t.equal(r.session.sessionId, 'user-00000000000000001');
  t.same(r.secrets, ['SECRET-TOKEN-1-abcdefgh'], 'the token is reported as a secret');
  const init = r.channel().init;
  t.match(init, {
    streamUrl: 'ws://127.0.0.1:1/v1/data-channel/s1',
    tokenValue: 'SECRET-TOKEN-1-abcdefgh',
    sessionId: 'user-00000000000000001',
    targetId: 'i-0123456789abcdef0',
  });
  t.equal(init.clock, r.clock);
  t.ok(r.session.ready);
  t.equal(r.session.mode, 'mux');
  t.ok(r.session.hasCapacity);
  t.equal(r.session.progress(), undefined);
  t.ok(r.channel().mux !== undefined, 'an smux client over the channel');
});

t.test('start(): a forward stopped during StartSession terminates the new session and rejects', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class SlowApi extends FakeApi {
    override async startSession(input: StartSessionInput) {
      await gate;
      return super.startSession(input);
    }
  }
  const r = rig({ api: new SlowApi() });
  const starting = r.session.start();
  r.session.end({ reason: 'terminated', message: 'stopped', permanent: false });
  release();
  const err: unknown = await starting.catch((e: unknown) => e);
  t.ok(isTunnelError(err) && err.code === 'ERR_TUNNEL_STOPPED');
  t.same(r.api.terminated, ['user-00000000000000001'], 'not left open on the service');
  t.equal(r.factory.channels.length, 0, 'no data channel opened');
});

t.test(
  'channel_closed after the handshake ends the session with the classified cause (permanent: forbidden host)',
  async (t) => {
    const r = rig();
    r.factory.closeAfterOpen = 'Forwarding to IP address 169.254.169.254 is forbidden.';
    await r.session.start();
    await once(r.session, 'end');
    t.equal(r.ends.length, 1);
    t.match(r.ends[0], { reason: 'channel-closed', code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN', permanent: true });
    t.equal(r.session.ready, false);
    t.ok(r.channel().closed);
  },
);

t.test('mux: attach() runs a connection over a new stream, bytes both ways, load events', async (t) => {
  const next = await listen(t);
  const r = rig();
  await r.session.start();
  const loads: number[] = [];
  r.session.on('load', (n: number) => loads.push(n));
  const local = await next();
  const conn = new Connection(1, local.socket, 0);
  const h = hooks();
  r.session.attach(conn, h, () => t.fail('no connect error'));
  t.equal(r.mux().streams.length, 1, 'one stream per connection');
  t.equal(r.session.load, 1);
  t.ok(r.session.hasCapacity, 'mux takes more connections');
  const got = collect(local.client);
  local.client.end('ping through smux');
  await got.ended;
  t.equal(got.data().toString(), 'ping through smux', 'echoed, then FIN for FIN');
  await h.closed;
  t.equal(r.session.load, 0);
  t.same(loads, [0]);
  t.equal(conn.bytesIn, 17);
  t.equal(conn.bytesOut, 17);
});

t.test('basic: attach() runs the connection on the channel itself; the flag frees it for the next', async (t) => {
  const next = await listen(t);
  const r = rig({ portMode: 'basic' });
  await r.session.start();
  t.equal(r.session.mode, 'basic');
  t.equal(r.channel().mux, undefined, 'no smux in basic mode');
  t.ok(r.session.hasCapacity);
  for (const id of [1, 2]) {
    const local = await next();
    const h = hooks();
    r.session.attach(new Connection(id, local.socket, 0), h, () => t.fail('no connect error'));
    t.equal(r.session.hasCapacity, false, 'one connection at a time');
    const got = collect(local.client);
    local.client.write(`basic ${id}`);
    // The fake agent echoes; basic mode cannot half-close, so the client ends once it has it.
    while (got.data().length < 7) await once(local.client, 'data');
    local.client.end();
    await got.ended;
    t.equal(got.data().toString(), `basic ${id}`);
    await h.closed;
    t.ok(r.session.hasCapacity, 'free again');
  }
  t.same(r.channel().flags, [FLAG_DISCONNECT_TO_PORT, FLAG_DISCONNECT_TO_PORT], 'one DisconnectToPort per connection');
});

t.test('end(): resets every connection, closes smux and the channel, emits end once', async (t) => {
  const next = await listen(t);
  const r = rig();
  await r.session.start();
  const endings = [];
  const closes = [];
  for (const id of [1, 2]) {
    const local = await next();
    const h = hooks();
    r.session.attach(new Connection(id, local.socket, 0), h, () => {});
    endings.push(judge(local.client));
    closes.push(h.closed);
    local.client.write('half a request');
    await once(local.client, 'data');
  }
  const end: SessionEnd = { reason: 'channel-error', message: 'resend exhausted', permanent: false };
  r.session.end(end);
  r.session.end({ reason: 'idle', message: 'ignored', permanent: false });
  for (const e of await Promise.all(endings)) t.equal(e.end, 'reset', `a lost session resets (${e.code ?? ''})`);
  await Promise.all(closes);
  t.same(r.ends, [end], "'end' once, with the first reason");
  t.same(r.session.endState(), end);
  t.ok(r.mux().isClosed);
  t.ok(r.channel().closed);
  t.equal(r.session.load, 0);
  t.equal(r.session.ready, false);
});

t.test('basic: a session closed by the service resets the connection and sends no DisconnectToPort', async (t) => {
  const r = rig({ portMode: 'basic' });
  await r.session.start();
  const local = await (await listen(t))();
  const h = hooks();
  r.session.attach(new Connection(1, local.socket, 0), h, () => {});
  const ending = judge(local.client);
  local.client.write('x');
  await once(local.client, 'data');
  r.channel().serviceClose('');
  t.equal((await ending).end, 'reset');
  await h.closed;
  t.same(r.channel().flags, []);
  t.match(r.ends, [{ reason: 'channel-closed', code: 'ERR_SESSION_CHANNEL_CLOSED', permanent: false }]);
  const err = h.closes[0]?.error;
  t.ok(isTunnelError(err) && err.code === 'ERR_TUNNEL_SESSION_LOST', 'the connection error says why');
});

t.test('terminate(): the terminate flag when the agent takes it, and the TerminateSession API', async (t) => {
  for (const canSendTerminateFlag of [true, false]) {
    const r = rig({ canSendTerminateFlag });
    await r.session.start();
    await r.session.terminate();
    t.equal(r.channel().terminated, canSendTerminateFlag, `flag sent: ${canSendTerminateFlag}`);
    t.ok(r.channel().closed);
    t.same(r.api.terminated, ['user-00000000000000001']);
    t.match(r.ends, [{ reason: 'terminated', permanent: false }]);
  }
  const idle = rig();
  await idle.session.start();
  await idle.session.terminate('idle');
  t.match(idle.ends, [{ reason: 'idle', message: 'closed after idle period' }]);
  t.same(idle.api.terminated, ['user-00000000000000001']);
});

t.test('mux: ConnectToPortError then FIN on a stream with no data is that connection’s connect error', async (t) => {
  const next = await listen(t);
  const r = rig();
  await r.session.start();
  const local = await next();
  const conn = new Connection(1, local.socket, 0);
  r.mux().refuseNext = r.channel();
  const h = hooks();
  const refused: Connection[] = [];
  r.session.attach(conn, h, (c) => refused.push(c));
  const got = collect(local.client);
  await got.ended;
  await h.closed;
  t.same(refused, [conn], 'reported once, for this connection');
  t.equal(got.data().length, 0);
  t.ok(r.session.ready, 'the session stays up');

  // A FIN with no data and no flag before it is a plain end, not a refusal.
  const other = await next();
  const h2 = hooks();
  r.session.attach(new Connection(2, other.socket, 0), h2, () => t.fail('not a connect error'));
  other.client.end();
  await h2.closed;
});

t.test('the channel failing or smux closing ends the session, never permanently', async (t) => {
  const a = rig();
  await a.session.start();
  const e = Object.assign(new Error('resend exhausted'), { code: 'ERR_SESSION_RESEND_EXHAUSTED' });
  a.channel().emit('error', e);
  t.match(a.ends, [{ reason: 'channel-error', message: 'resend exhausted', permanent: false }]);

  const b = rig();
  await b.session.start();
  b.mux().emit('close', new Error('keep-alive timeout'));
  t.match(b.ends, [{ reason: 'mux-closed', message: 'keep-alive timeout', permanent: false }]);
  t.ok(b.channel().closed);
});

t.test('probe(): refused, quiet after the timeout (fake clock), skipped in basic mode', async (t) => {
  const r = rig();
  await r.session.start();
  r.mux().refuseNext = r.channel();
  t.same(await r.session.probe(5000), { ok: false, skipped: false, reason: 'refused' });

  const quiet = r.session.probe(5000);
  // The fake stream echoes and says nothing by itself: only the clock ends the probe.
  r.clock.advance(4999);
  t.equal(r.clock.pending, 1);
  r.clock.advance(1);
  t.same(await quiet, { ok: true, skipped: false, reason: 'quiet' });
  t.ok(
    r.mux().streams.every((s) => s.destroyed),
    'probe streams are closed',
  );

  const basic = rig({ portMode: 'basic' });
  await basic.session.start();
  t.same(await basic.session.probe(5000), { ok: true, skipped: true });
});
