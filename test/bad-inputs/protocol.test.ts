/**
 * docs/bad-inputs.md, wire rows: what the peer (gateway or agent) sends that it should not.
 * None of these is a CLI exit: the data channel drops the bad record (typed 'protocol-error',
 * never acked, so a well-behaved peer retransmits a good copy), or the mux session dies with a
 * typed MuxError and the engine starts a fresh session. Each test drives the real code
 * (DataChannel over a fake transport, MuxSession over an in-memory pair, the emulator's gateway).
 */
import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { DataChannel } from '../../src/session/data-channel.js';
import { MuxSession } from '../../src/mux/index.js';
import {
  ClientMessageStreamDecoder,
  MessageType,
  PAYLOAD_DIGEST_OFFSET,
  PAYLOAD_LENGTH_OFFSET,
  PayloadType,
  encodeOpenDataChannel,
} from '../../src/protocol/ssm/index.js';
import { SessionError, TunnelError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeConnector, flush } from '../helpers/fake-transport.js';
import { createDuplexPair } from '../helpers/duplex-pair.js';
import { withEmulator, startSession } from '../helpers/emulator.js';
import { agentAck, agentFrame, handshakeComplete, handshakeRequest } from '../helpers/agent-script.js';
import { Prng } from '../helpers/fuzz.js';

function channel(over: { handshakeTimeoutMs?: number } = {}): {
  ch: DataChannel;
  conn: FakeConnector;
  clock: FakeClock;
  errors: TunnelError[];
  protocolErrors: TunnelError[];
} {
  const clock = new FakeClock();
  const conn = new FakeConnector();
  const ch = new DataChannel({
    streamUrl: 'wss://ssmmessages.example/v1/data-channel/s-1',
    tokenValue: 'TOKEN-1',
    sessionId: 's-1',
    targetId: 'i-0123456789abcdef0',
    clock,
    connect: conn.connect,
    resume: async () => undefined,
    ...over,
  });
  const errors: TunnelError[] = [];
  const protocolErrors: TunnelError[] = [];
  ch.on('error', (e: TunnelError) => errors.push(e));
  ch.on('protocol-error', (e: TunnelError) => protocolErrors.push(e));
  return { ch, conn, clock, errors, protocolErrors };
}

async function established(r: ReturnType<typeof channel>): Promise<void> {
  const p = r.ch.open();
  await flush();
  r.conn.last.receive(handshakeRequest());
  await flush();
  r.conn.last.receive(agentAck(0));
  r.conn.last.receive(handshakeComplete(1));
  await p;
}

const acksSent = (r: ReturnType<typeof channel>): number =>
  r.conn.last.messages().filter((m) => m.messageType === MessageType.Acknowledge).length;

t.test(
  'peer-garbage: random binary records from the gateway are dropped with typed errors; the session goes on',
  async (t) => {
    const r = channel();
    await established(r);
    const rng = new Prng(8);
    const before = acksSent(r);
    for (let i = 0; i < 200; i++) r.conn.last.receive(rng.bytes(rng.int(300)));
    t.equal(r.protocolErrors.length, 200, 'every garbage record reported');
    t.ok(
      r.protocolErrors.every((e) => e.code.startsWith('ERR_SSM_')),
      'only typed ERR_SSM_* codes',
    );
    t.equal(acksSent(r), before, 'nothing acked');
    t.same(r.errors, [], 'no session error');
    const data: Buffer[] = [];
    r.ch.on('data', (b: Buffer) => data.push(b));
    r.conn.last.receive(agentFrame(2, PayloadType.Output, 'still alive'));
    t.equal(Buffer.concat(data).toString(), 'still alive', 'good data after the garbage is delivered');
    r.ch.close();
  },
);

t.test(
  'wrong-digest: a record whose SHA-256 does not match is dropped unacked; the retransmission is delivered',
  async (t) => {
    const r = channel();
    await established(r);
    const good = agentFrame(2, PayloadType.Output, 'payload');
    const bad = Buffer.from(good);
    bad[PAYLOAD_DIGEST_OFFSET] = (bad[PAYLOAD_DIGEST_OFFSET] ?? 0) ^ 0xff;
    const data: Buffer[] = [];
    r.ch.on('data', (b: Buffer) => data.push(b));
    const before = acksSent(r);
    r.conn.last.receive(bad);
    t.equal(r.protocolErrors[0]?.code, 'ERR_SSM_DIGEST_MISMATCH');
    t.equal(acksSent(r), before, 'not acked');
    t.equal(data.length, 0, 'not delivered');
    r.conn.last.receive(good);
    t.equal(Buffer.concat(data).toString(), 'payload', 'the good copy is delivered once');
    r.ch.close();
  },
);

t.test('oversized-frame: a PayloadLength larger than the record (or than the stream limit) is refused', async (t) => {
  const r = channel();
  await established(r);
  const frame = agentFrame(2, PayloadType.Output, 'x'.repeat(100));
  frame.writeUInt32BE(0x7fffffff, PAYLOAD_LENGTH_OFFSET);
  r.conn.last.receive(frame);
  t.equal(r.protocolErrors[0]?.code, 'ERR_SSM_LENGTH_MISMATCH', 'websocket record: declared length ≠ bytes present');
  t.same(r.errors, [], 'the session goes on');
  r.ch.close();
  // On a byte stream (captures, pipes) the limit is what stops a 2 GiB allocation.
  const dec = new ClientMessageStreamDecoder({ maxPayloadBytes: 1 << 20 });
  let code: string | undefined;
  try {
    for (const m of dec.push(frame)) void m;
  } catch (e) {
    code = e instanceof TunnelError ? e.code : 'untyped';
  }
  t.equal(code, 'ERR_SSM_LENGTH_MISMATCH', 'stream decoder: PayloadLength over the limit');
  t.ok(dec.bufferedBytes <= frame.length, 'nothing allocated for the declared 2 GiB');
});

t.test('handshake-timeout: an agent that never completes the handshake fails open() with a typed error', async (t) => {
  const r = channel({ handshakeTimeoutMs: 5000 });
  const p = r.ch.open();
  await flush();
  r.conn.last.receive(handshakeRequest());
  await flush();
  r.clock.advance(5001);
  const err = await p.catch((e: unknown) => e);
  t.ok(
    err instanceof SessionError && err.code === 'ERR_SESSION_HANDSHAKE_TIMEOUT',
    `open() rejects with ERR_SESSION_HANDSHAKE_TIMEOUT (${String(err)})`,
  );
});

for (const [id, bytes, code] of [
  ['smux-bad-version', Buffer.from([9, 2, 4, 0, 3, 0, 0, 0, 1, 2, 3, 4]), 'ERR_SMUX_BAD_VERSION'],
  ['smux-unknown-command', Buffer.from([1, 7, 0, 0, 3, 0, 0, 0]), 'ERR_SMUX_UNKNOWN_COMMAND'],
  ['smux-bad-length', Buffer.from([1, 0, 4, 0, 3, 0, 0, 0, 1, 2, 3, 4]), 'ERR_SMUX_BAD_LENGTH'],
] as const) {
  t.test(`${id}: the mux session closes with ${code}, every stream reset, nothing crashes`, async (t) => {
    const [a, b] = createDuplexPair();
    const mux = new MuxSession(a, { role: 'client', config: { keepAliveDisabled: true } });
    const s = mux.openStream();
    const streamErr = once(s, 'error');
    const closed = once(mux, 'close');
    b.write(bytes);
    const [err] = (await closed) as [unknown];
    t.ok(err instanceof TunnelError && err.code === code, `session error ${code}`);
    const [se] = (await streamErr) as [unknown];
    t.ok(
      se instanceof TunnelError && se.code === 'ERR_SMUX_STREAM_RESET',
      'the open stream is reset (its local socket gets closed)',
    );
    t.ok(mux.isClosed);
    a.destroy();
    b.destroy();
  });
}

t.test('wrong-token: the gateway refuses a data channel opened with a wrong token (close 1008)', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu, { parameters: { portNumber: ['7'], localPortNumber: ['0'] } });
  const ws = new WebSocket(s.streamUrl);
  ws.on('error', () => undefined);
  await once(ws, 'open');
  ws.send(
    encodeOpenDataChannel({
      messageSchemaVersion: '1.0',
      requestId: '11111111-2222-4333-8444-555555555555',
      tokenValue: `${s.tokenValue}x`,
      clientId: 'c',
      clientVersion: '1.2.677.0',
    }),
  );
  const [code] = (await once(ws, 'close')) as [number];
  t.equal(code, 1008, 'policy-violation close');
  t.equal(emu.errors[0]?.code, 'ERR_EMULATOR_BAD_TOKEN');
  t.notMatch(emu.errors[0]?.message ?? '', s.tokenValue, 'the token is not echoed in the error');
});
