import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeConnector, flush } from '../helpers/fake-transport.js';
import {
  DataChannel,
  DataChannelState,
  type DataChannelOptions,
  type HandshakeResult,
} from '../../src/session/data-channel.js';
import {
  FlagCode,
  MessageType,
  PayloadType,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  encodeFlag,
} from '../../src/protocol/ssm/index.js';
import { SessionError } from '../../src/errors.js';
import { idFactory } from '../helpers/reliable-link-harness.js';
import {
  ackedSeqs,
  agentAck,
  agentFrame,
  channelClosed,
  handshakeComplete,
  handshakeRequest,
  mgsFrame,
  streamOf,
} from '../helpers/agent-script.js';

const CLIENT_ID = '5b7e4d1c-2a3f-4e6b-9c8d-0f1e2d3c4b5a';
const URL = 'wss://ssmmessages.example/v1/data-channel/s-1?role=publish_subscribe';

interface Rig {
  clock: FakeClock;
  conn: FakeConnector;
  ch: DataChannel;
  resumes: number;
  errors: SessionError[];
}

function rig(
  over: Partial<DataChannelOptions> = {},
  resumeTokens: (string | undefined | Error)[] = ['TOKEN-2', 'TOKEN-3'],
): Rig {
  const clock = new FakeClock();
  const conn = new FakeConnector();
  const r: Rig = { clock, conn, ch: undefined as unknown as DataChannel, resumes: 0, errors: [] };
  r.ch = new DataChannel({
    streamUrl: URL,
    tokenValue: 'TOKEN-1',
    sessionId: 's-1',
    targetId: 'i-0123456789abcdef0',
    clientId: CLIENT_ID,
    clock,
    connect: conn.connect,
    newId: idFactory(0xc1),
    random: () => 0,
    resume: async () => {
      r.resumes++;
      const next = resumeTokens.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    ...over,
  });
  r.ch.on('error', (e: SessionError) => r.errors.push(e));
  return r;
}

/** Opens and completes the handshake; returns the result. */
async function established(r: Rig, agentVersion = '3.3.1142.0'): Promise<HandshakeResult> {
  const p = r.ch.open();
  await flush();
  r.conn.last.receive(handshakeRequest({ agentVersion }));
  await flush();
  r.conn.last.receive(agentAck(0));
  r.conn.last.receive(handshakeComplete(1));
  return p;
}

t.test(
  'open: TEXT OpenDataChannel first, then a ping; handshake answered; result from the agent version',
  async (t) => {
    const r = rig();
    const p = r.ch.open();
    await flush();
    const tr = r.conn.last;
    t.same(r.conn.urls, [URL], 'the StreamUrl verbatim');
    t.equal(tr.texts.length, 1);
    const open = decodeOpenDataChannel(tr.texts[0] ?? '');
    t.same(
      { ...open, requestId: 'x' },
      {
        messageSchemaVersion: '1.0',
        requestId: 'x',
        tokenValue: 'TOKEN-1',
        clientId: CLIENT_ID,
        clientVersion: '1.2.677.0',
      },
    );
    t.match(
      tr.texts[0],
      /^\{"MessageSchemaVersion":"1\.0","RequestId":"[0-9a-f-]{36}","TokenValue":"TOKEN-1","ClientId":"5b7e4d1c-2a3f-4e6b-9c8d-0f1e2d3c4b5a","ClientVersion":"1\.2\.677\.0"\}$/,
    );
    t.equal(tr.pings, 1, 'pinged at once');
    t.equal(r.ch.state, DataChannelState.Handshaking);

    tr.receive(handshakeRequest());
    await flush();
    const sent = tr.messages();
    t.same(
      sent.map((m) => m.messageType),
      ['acknowledge', 'input_stream_data'],
      'ack first, then the response',
    );
    t.same(ackedSeqs(sent), [0]);
    const resp = sent[1];
    t.equal(resp?.sequenceNumber, 0);
    t.equal(resp?.flags, 0);
    t.equal(resp?.payloadType, PayloadType.HandshakeResponse);
    t.equal(
      resp?.payload.toString(),
      '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}',
    );

    tr.receive(agentAck(0));
    tr.receive(handshakeComplete(1));
    const res = await p;
    t.same(res, {
      agentVersion: '3.3.1142.0',
      sessionType: 'Port',
      properties: { localPortNumber: '0', portNumber: '7777', type: 'LocalPortForwarding' },
      portMode: 'mux',
      smuxKeepAlive: false,
      canSendTerminateFlag: true,
      customerMessage: '',
    });
    t.same(ackedSeqs(tr.messages()), [0, 1]);
    t.equal(r.ch.state, DataChannelState.Established);
    t.equal(r.ch.link.unackedCount, 0);
    r.ch.close();
    t.equal(r.clock.pending, 0, 'close stops every timer');
    t.ok(tr.closed);
  },
);

t.test(
  'version gates: old agents give basic mode, keep-alive on, no terminate flag; no type gives stream mode',
  async (t) => {
    const a = rig();
    const ra = await established(a, '3.0.196.0');
    t.equal(ra.portMode, 'basic');
    t.equal(ra.smuxKeepAlive, true);
    t.equal(ra.canSendTerminateFlag, true);
    a.ch.close();
    const b = rig();
    const rb = await established(b, '2.3.722.0');
    t.equal(rb.canSendTerminateFlag, false);
    b.ch.close();
    const c = rig();
    const pc = c.ch.open();
    await flush();
    c.conn.last.receive(handshakeRequest({ properties: { portNumber: '22' } }));
    await flush();
    c.conn.last.receive(handshakeComplete(1));
    t.equal((await pc).portMode, 'stream');
    c.ch.close();
  },
);

t.test('an unsupported session type is answered Failed (as upstream words it) and open() rejects', async (t) => {
  const r = rig();
  const p = r.ch.open();
  await flush();
  r.conn.last.receive(handshakeRequest({ sessionType: 'Banana', properties: {} }));
  await t.rejects(p, { code: 'ERR_SESSION_UNSUPPORTED_SESSION_TYPE' });
  const resp = r.conn.last.messages().find((m) => m.payloadType === PayloadType.HandshakeResponse);
  // Byte-identical to the upstream vector client_handshake_response_unknown_session_type.
  t.equal(
    resp?.payload.toString(),
    '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":2,"ActionResult":null,"Error":"Failed to process action SessionType: Unknown session type Banana"}],"Errors":["Unknown session type Banana"]}',
  );
  t.equal(r.ch.state, DataChannelState.Closed);
  t.same(r.errors, [], 'the error goes to open(), not to an error event');
});

t.test('handshake timeout', async (t) => {
  const r = rig({ handshakeTimeoutMs: 5000 });
  const p = r.ch.open();
  await flush();
  r.clock.advance(4999);
  t.equal(r.ch.state, DataChannelState.Handshaking);
  r.clock.advance(1);
  await t.rejects(p, { code: 'ERR_SESSION_HANDSHAKE_TIMEOUT' });
  t.ok(r.conn.last.closed);
});

t.test('Output is not acked before the handshake completes or while nobody listens', async (t) => {
  const r = rig();
  const p = r.ch.open();
  await flush();
  const tr = r.conn.last;
  tr.receive(handshakeRequest());
  await flush();
  tr.receive(handshakeComplete(1));
  await p;
  tr.receive(agentFrame(2, PayloadType.Output, 'early'));
  t.same(ackedSeqs(tr.messages()), [0, 1], 'no data listener yet: not acked');
  const got: string[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b.toString()));
  tr.receive(agentFrame(2, PayloadType.Output, 'early'));
  t.same(got, ['early'], 'the retransmission is taken');
  t.same(ackedSeqs(tr.messages()), [0, 1, 2]);
  r.ch.close();
});

t.test('held out-of-order Output is delivered once a data listener appears', async (t) => {
  const r = rig();
  await established(r);
  const tr = r.conn.last;
  tr.receive(agentFrame(3, PayloadType.Output, 'three'));
  tr.receive(agentFrame(2, PayloadType.Output, 'two'));
  t.same(ackedSeqs(tr.messages()), [0, 1, 3], 'seq 3 held and acked, seq 2 refused (nobody listens)');
  tr.receive(agentFrame(2, PayloadType.Output, 'two'));
  const got: string[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b.toString()));
  tr.receive(agentFrame(2, PayloadType.Output, 'two'));
  t.same(got, ['two', 'three']);
  // A held message (acked, refused during the drain because the listener went away) is
  // delivered when a listener comes back, with no retransmission needed.
  const q = rig();
  await established(q);
  const got2: string[] = [];
  const once2 = (b: Buffer): void => {
    got2.push(b.toString());
    q.ch.off('data', once2);
  };
  q.ch.on('data', once2);
  q.conn.last.receive(agentFrame(3, PayloadType.Output, 'b'));
  q.conn.last.receive(agentFrame(2, PayloadType.Output, 'a'));
  t.same(got2, ['a'], 'seq 3 held: the listener left while seq 2 was delivered');
  t.equal(q.ch.link.reorderCount, 1);
  q.ch.on('data', (b: Buffer) => got2.push(b.toString()));
  await flush();
  t.same(got2, ['a', 'b'], 'delivered on listener arrival');
  t.equal(q.ch.link.expectedSequenceNumber, 4);
  r.ch.close();
  q.ch.close();
});

t.test('data in order, out-of-order buffered, duplicates re-acked', async (t) => {
  const r = rig();
  await established(r);
  const got: string[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b.toString()));
  const tr = r.conn.last;
  tr.receive(agentFrame(3, PayloadType.Output, 'c'));
  tr.receive(agentFrame(2, PayloadType.Output, 'b'));
  tr.receive(agentFrame(2, PayloadType.Output, 'b'));
  t.same(got, ['b', 'c']);
  t.same(ackedSeqs(tr.messages()), [0, 1, 3, 2, 2], 'the duplicate of seq 2 is re-acked');
  r.ch.close();
});

t.test('sendData: chunks of at most 1024 bytes, bytes never rewritten', async (t) => {
  const r = rig();
  await established(r);
  const buf = Buffer.alloc(2500, 7);
  t.ok(r.ch.sendData(buf));
  t.ok(r.ch.sendData(Buffer.from([0x0a])));
  const out = r.conn.last
    .messages()
    .filter((m) => m.messageType === MessageType.InputStreamData && m.payloadType === PayloadType.Output);
  t.same(
    out.map((m) => m.payload.length),
    [1024, 1024, 452, 1],
  );
  t.same(
    out.map((m) => m.sequenceNumber),
    [1, 2, 3, 4],
    'seq continues after the HandshakeResponse (0)',
  );
  t.equal(out[3]?.payload.toString('hex'), '0a', 'a lone LF stays LF');
  t.ok(Buffer.concat(out.slice(0, 3).map((m) => m.payload)).equals(buf));
  r.ch.close();
});

t.test('full window: sendData false, drain after acks; nothing dropped', async (t) => {
  const r = rig({ windowMessages: 2 });
  await established(r);
  let drains = 0;
  r.ch.on('drain', () => drains++);
  t.ok(r.ch.sendData(Buffer.from('a')));
  t.notOk(r.ch.sendData(Buffer.from('b')), 'seq 1 and 2 fill the window of 2');
  t.notOk(r.ch.sendData(Buffer.from('c')), 'still accepted');
  t.equal(r.ch.link.unackedCount, 3);
  r.conn.last.receive(agentAck(1));
  t.equal(drains, 0);
  r.conn.last.receive(agentAck(2));
  t.equal(drains, 1);
  t.same(
    streamOf(r.conn.last.messages()).map(([s]) => s),
    [0, 1, 2, 3],
  );
  r.ch.close();
});

t.test('transport backpressure: a full transport makes sendData false until it drains (no polling)', async (t) => {
  const r = rig();
  await established(r);
  let drains = 0;
  r.ch.on('drain', () => drains++);
  r.conn.last.highWaterBytes = 100;
  r.conn.last.bufferedAmount = 150;
  t.notOk(r.ch.sendData(Buffer.from('x')));
  t.ok(r.conn.last.drainOwed, 'the transport was asked and owes a drain');
  r.clock.advance(1000);
  t.equal(drains, 0, 'nothing happens while the transport is full (no poll)');
  r.conn.last.drained(10);
  t.equal(drains, 1, "drain follows the transport's own drain");
  t.ok(r.ch.sendData(Buffer.from('y')), 'below the mark again');
  r.ch.close();
  t.equal(r.clock.pending, 0);
});

t.test('a producer waiting on a full transport is released when a fresh transport replaces it', async (t) => {
  const r = rig();
  await established(r);
  let drains = 0;
  r.ch.on('drain', () => drains++);
  r.conn.last.highWaterBytes = 100;
  r.conn.last.bufferedAmount = 150;
  t.notOk(r.ch.sendData(Buffer.from('x')));
  const before = r.conn.transports.length;
  r.conn.last.drop();
  await flush();
  t.equal(r.conn.transports.length, before + 1, 'reconnected');
  t.equal(drains, 1, 'the new transport is empty: drain');
  r.ch.close();
});

t.test('flags both ways', async (t) => {
  const r = rig();
  await established(r);
  const flags: FlagCode[] = [];
  r.ch.on('flag', (f: FlagCode) => flags.push(f));
  r.conn.last.receive(agentFrame(2, PayloadType.Flag, encodeFlag(FlagCode.ConnectToPortError)));
  t.same(flags, [FlagCode.ConnectToPortError]);
  t.same(ackedSeqs(r.conn.last.messages()), [0, 1, 2]);
  r.ch.sendFlag(FlagCode.DisconnectToPort);
  const last = r.conn.last.messages().at(-1);
  t.equal(last?.payloadType, PayloadType.Flag);
  t.equal(last?.payload.toString('hex'), '00000001');
  const perr: unknown[] = [];
  r.ch.on('protocol-error', (e: unknown) => perr.push(e));
  r.conn.last.receive(agentFrame(3, PayloadType.Flag, Buffer.from('0000000009', 'hex')));
  t.match(perr[0], { code: 'ERR_SSM_BAD_FLAG' });
  t.same(ackedSeqs(r.conn.last.messages()), [0, 1, 2, 3], 'a bad flag is acked and ignored');
  r.ch.close();
});

t.test('channel_closed ends the channel with its Output text; it is not acked', async (t) => {
  const r = rig();
  await established(r);
  const closed: { output: string }[] = [];
  r.ch.on('closed', (c: { output: string }) => closed.push(c));
  const before = r.conn.last.frames.length;
  r.conn.last.receive(channelClosed('Forwarding to IP address 169.254.169.254 is forbidden.'));
  t.same(closed, [{ output: 'Forwarding to IP address 169.254.169.254 is forbidden.' }]);
  t.equal(r.ch.state, DataChannelState.Closed);
  t.equal(r.conn.last.frames.length, before, 'nothing sent in reply');
  t.ok(r.conn.last.closed);
  t.equal(r.clock.pending, 0);
  t.throws(() => r.ch.sendData(Buffer.from('x')), { code: 'ERR_SESSION_CLOSED' });
});

t.test('channel_closed during the handshake rejects open()', async (t) => {
  const r = rig();
  const p = r.ch.open();
  await flush();
  r.conn.last.receive(channelClosed('Session s-1 was terminated.'));
  await t.rejects(p, { code: 'ERR_SESSION_CHANNEL_CLOSED', message: 'Session s-1 was terminated.' });
});

t.test('publication messages and frames with a bad digest are never acked', async (t) => {
  const r = rig();
  await established(r);
  const perr: unknown[] = [];
  r.ch.on('protocol-error', (e: unknown) => perr.push(e));
  r.conn.last.receive(mgsFrame(MessageType.PausePublication));
  r.conn.last.receive(mgsFrame(MessageType.StartPublication));
  const bad = agentFrame(2, PayloadType.Output, 'x');
  bad[80] = (bad[80] ?? 0) ^ 0xff;
  r.conn.last.receive(bad);
  t.same(ackedSeqs(r.conn.last.messages()), [0, 1]);
  t.match(perr, [{ code: 'ERR_SSM_DIGEST_MISMATCH' }]);
  r.ch.close();
});

t.test(
  'pauseReceiving holds Output unacked (the agent window fills); resumeReceiving delivers and acks it',
  async (t) => {
    const r = rig();
    await established(r);
    const got: string[] = [];
    r.ch.on('data', (b: Buffer) => got.push(b.toString()));
    r.ch.pauseReceiving();
    r.conn.last.receive(agentFrame(2, PayloadType.Output, 'a'));
    r.conn.last.receive(agentFrame(3, PayloadType.Output, 'b'));
    t.same(got, []);
    t.same(ackedSeqs(r.conn.last.messages()), [0, 1], 'nothing acked while paused: the agent keeps them');
    r.conn.last.receive(agentFrame(2, PayloadType.Output, 'a'));
    t.same(got, [], 'a retransmission while paused is not delivered either');
    t.same(ackedSeqs(r.conn.last.messages()), [0, 1], 'nor acked');
    r.ch.resumeReceiving();
    t.same(got, ['a', 'b'], 'held messages delivered at once, no retransmission needed');
    t.same(ackedSeqs(r.conn.last.messages()), [0, 1, 2, 3], 'acked as delivered');
    r.ch.close();
  },
);

t.test('inbound byte budget: beyond it Output is neither stored nor acked, and comes again later', async (t) => {
  const r = rig({ receiveBudgetBytes: 2048 });
  await established(r);
  const got: string[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b.toString()[0] ?? ''));
  r.ch.pauseReceiving();
  for (let s = 2; s < 6; s++) r.conn.last.receive(agentFrame(s, PayloadType.Output, String(s).repeat(1000)));
  t.equal(r.ch.link.heldBytes, 2000, 'two messages held: the budget is 2048 bytes');
  // Our own upload is still acked by the agent while we refuse its Output.
  r.ch.sendData(Buffer.from('up'));
  const upSeq = r.ch.link.nextSequenceNumber - 1;
  r.conn.last.receive(agentAck(upSeq));
  t.equal(r.ch.link.unackedCount, 0, 'acks for our uploads keep flowing');
  r.ch.resumeReceiving();
  t.same(got, ['2', '3']);
  t.same(ackedSeqs(r.conn.last.messages()), [0, 1, 2, 3]);
  for (let s = 4; s < 6; s++) r.conn.last.receive(agentFrame(s, PayloadType.Output, String(s).repeat(1000)));
  t.same(got, ['2', '3', '4', '5'], 'the retransmitted rest arrives intact');
  t.equal(r.ch.link.heldBytes, 0);
  r.ch.close();
});

t.test(
  'reconnect: resume token, same URL and ClientId, new RequestId, sequence numbers continue, unacked resent',
  async (t) => {
    const r = rig();
    await established(r);
    const first = r.conn.last;
    r.ch.sendData(Buffer.from('unacked-1'));
    const reasons: SessionError[] = [];
    r.ch.on('reconnecting', (e: SessionError) => reasons.push(e));
    let reconnected = 0;
    r.ch.on('reconnected', () => reconnected++);
    first.drop();
    t.equal(r.ch.state, DataChannelState.Reconnecting);
    t.equal(reasons[0]?.code, 'ERR_SESSION_CONNECT_FAILED');
    // Sent while disconnected: numbered and kept (upstream loses it).
    t.ok(r.ch.sendData(Buffer.from('while-down-2')));
    await flush();
    t.equal(r.resumes, 1);
    t.equal(r.conn.transports.length, 2);
    const second = r.conn.last;
    t.same(r.conn.urls, [URL, URL], 'a bare token (no StreamUrl) keeps the current URL');
    const o1 = decodeOpenDataChannel(first.texts[0] ?? '');
    const o2 = decodeOpenDataChannel(second.texts[0] ?? '');
    t.equal(o2.tokenValue, 'TOKEN-2');
    t.equal(o2.clientId, o1.clientId);
    t.not(o2.requestId, o1.requestId);
    t.equal(reconnected, 1);
    t.equal(r.ch.state, DataChannelState.Established);
    t.same(
      streamOf(second.messages()),
      [
        [1, 1],
        [2, 1],
      ],
      'both unacked messages resent at once, in order',
    );
    second.receive(agentAck(1));
    second.receive(agentAck(2));
    r.ch.sendData(Buffer.from('after-3'));
    t.same(streamOf(second.messages()).at(-1), [3, 1]);
    // The agent's numbering continues too, with no new handshake.
    const got: string[] = [];
    r.ch.on('data', (b: Buffer) => got.push(b.toString()));
    second.receive(agentFrame(2, PayloadType.Output, 'x'));
    t.same(got, ['x']);
    t.equal(second.texts.length, 1);
    r.ch.close();
  },
);

t.test('reconnect: ResumeSession with no token → ERR_SESSION_EXPIRED', async (t) => {
  const r = rig({}, [undefined]);
  await established(r);
  r.conn.last.drop();
  await flush();
  t.equal(r.errors[0]?.code, 'ERR_SESSION_EXPIRED');
  t.equal(r.ch.state, DataChannelState.Closed);
  t.equal(r.clock.pending, 0);
});

t.test('reconnect: ResumeSession failing 6 times → ERR_SESSION_RESUME_FAILED after the doubling delays', async (t) => {
  const boom = (): Error => new Error('403');
  const r = rig({}, [boom(), boom(), boom(), boom(), boom(), boom()]);
  await established(r);
  r.conn.last.drop();
  await flush();
  t.equal(r.resumes, 1, 'the first resume after a healthy connection is immediate');
  // random() = 0 → the low end of each jittered delay (half of 500, 1000, 2000, 4000, 8000).
  for (const [ms, calls] of [
    [250, 2],
    [500, 3],
    [1000, 4],
    [2000, 5],
    [4000, 6],
  ] as const) {
    r.clock.advance(ms - 1);
    await flush();
    t.equal(r.resumes, calls - 1, `not yet after ${ms - 1} ms`);
    r.clock.advance(1);
    await flush();
    t.equal(r.resumes, calls, `call ${calls} after ${ms} ms`);
  }
  t.equal(r.errors[0]?.code, 'ERR_SESSION_RESUME_FAILED');
  t.equal(r.ch.state, DataChannelState.Closed);
});

t.test('reconnect storm: connect → immediate close → resume cycles wait longer and longer, then give up', async (t) => {
  const r = rig(
    {},
    Array.from({ length: 20 }, (_, i) => `TOKEN-R${i}`),
  );
  await established(r);
  const at: number[] = [];
  const t0 = r.clock.now();
  // Every websocket the channel opens is closed by the "gateway" right away.
  const closed = (): boolean => r.ch.state === DataChannelState.Closed;
  for (let cycle = 0; cycle < 10 && !closed(); cycle++) {
    const before = r.resumes;
    r.conn.last.drop();
    for (let i = 0; i < 200 && r.resumes === before && !closed(); i++) {
      await flush();
      if (r.resumes === before) r.clock.advance(50);
    }
    if (r.resumes > before) at.push(r.clock.now() - t0);
    await flush();
  }
  // Delays between resumes: 0, then 250, 500, 1000, 2000, 4000 (random() = 0), never reset by a
  // connection that closed at once; six resumes, then the channel gives the session up.
  const gaps = at.map((x, i) => x - (at[i - 1] ?? 0));
  t.same(gaps, [0, 250, 500, 1000, 2000, 4000]);
  t.equal(r.resumes, 6);
  t.equal(r.ch.state, DataChannelState.Closed);
  t.equal(r.errors[0]?.code, 'ERR_SESSION_CONNECT_FAILED');
});

t.test('reconnect backoff starts over once a connection stayed healthy for 10 s', async (t) => {
  const r = rig(
    {},
    Array.from({ length: 20 }, (_, i) => `TOKEN-R${i}`),
  );
  await established(r);
  const waitResume = async (): Promise<number> => {
    const before = r.resumes;
    const t0 = r.clock.now();
    r.conn.last.drop();
    for (let i = 0; i < 200 && r.resumes === before; i++) {
      await flush();
      if (r.resumes === before) r.clock.advance(50);
    }
    await flush();
    return r.clock.now() - t0;
  };
  t.equal(await waitResume(), 0);
  t.equal(await waitResume(), 250);
  t.equal(await waitResume(), 500);
  r.clock.advance(9_999);
  t.equal(await waitResume(), 1000, 'up for 9.999 s: not yet healthy, the delay keeps growing');
  r.clock.advance(10_000);
  t.equal(await waitResume(), 0, 'up for 10 s: the schedule starts over');
  t.equal(r.errors.length, 0);
  r.ch.close();
});

t.test('a connection that carried new data was healthy: the next resume is immediate again', async (t) => {
  const r = rig(
    {},
    Array.from({ length: 20 }, (_, i) => `TOKEN-R${i}`),
  );
  await established(r);
  r.ch.on('data', () => undefined);
  const waitResume = async (): Promise<number> => {
    const before = r.resumes;
    const t0 = r.clock.now();
    r.conn.last.drop();
    for (let i = 0; i < 200 && r.resumes === before; i++) {
      await flush();
      if (r.resumes === before) r.clock.advance(50);
    }
    await flush();
    return r.clock.now() - t0;
  };
  t.equal(await waitResume(), 0);
  t.equal(await waitResume(), 250, 'closed at once, nothing carried: the delay grows');
  r.conn.last.receive(agentFrame(2, PayloadType.Output, 'data'));
  t.equal(await waitResume(), 0, 'it delivered Output: the schedule starts over');
  r.ch.close();
});

t.test('first open: connect retried with the same token; all failures → ERR_SESSION_CONNECT_FAILED', async (t) => {
  const r = rig();
  r.conn.failNext = 2;
  const p = r.ch.open();
  await flush();
  r.clock.advance(100);
  await flush();
  r.clock.advance(200);
  await flush();
  t.equal(r.conn.urls.length, 3);
  t.equal(r.resumes, 0, 'no ResumeSession for the first open');
  t.equal(decodeOpenDataChannel(r.conn.last.texts[0] ?? '').tokenValue, 'TOKEN-1');
  r.ch.close();
  await t.rejects(p, { code: 'ERR_SESSION_CLOSED' });

  const f = rig({ handshakeTimeoutMs: 60_000 });
  f.conn.failNext = 99;
  const rejected = t.rejects(f.ch.open(), { code: 'ERR_SESSION_CONNECT_FAILED' });
  for (let i = 0; i < 10; i++) {
    await flush();
    f.clock.advance(2000);
  }
  await rejected;
  t.equal(f.conn.urls.length, 6, '1 + 5 retries');
});

t.test('dead peer: no pong after a ping → reconnect with ERR_SESSION_DEAD_PEER; pongs keep it alive', async (t) => {
  const r = rig({ pingIntervalMs: 1000, deadPeerTimeoutMs: 3000 });
  await established(r);
  const reasons: SessionError[] = [];
  r.ch.on('reconnecting', (e: SessionError) => reasons.push(e));
  const tr = r.conn.last;
  for (let i = 0; i < 5; i++) {
    r.clock.advance(1000);
    tr.emit('pong');
  }
  t.same(reasons, [], 'alive while pongs come back');
  t.ok(tr.pings >= 5);
  r.clock.advance(3000);
  t.equal(reasons[0]?.code, 'ERR_SESSION_DEAD_PEER');
  t.ok(tr.closed);
  await flush();
  t.equal(r.conn.transports.length, 2, 'resumed on a new socket');
  r.ch.close();
});

t.test('resend exhaustion → error event ERR_SESSION_RESEND_EXHAUSTED', async (t) => {
  const r = rig({ maxResends: 2 });
  await established(r);
  r.ch.sendData(Buffer.from('x'));
  r.clock.advance(10_000);
  t.equal(r.errors[0]?.code, 'ERR_SESSION_RESEND_EXHAUSTED');
  t.equal(r.ch.state, DataChannelState.Closed);
});

t.test('terminate: Flag TerminateSession, wait for its ack, then close; old agents get no flag', async (t) => {
  const r = rig();
  await established(r);
  const done = r.ch.terminate();
  const last = r.conn.last.messages().at(-1);
  t.equal(last?.payloadType, PayloadType.Flag);
  t.equal(last?.payload.toString('hex'), '00000002');
  t.equal(r.ch.state, DataChannelState.Established, 'waiting for the ack');
  r.conn.last.receive(agentAck(last?.sequenceNumber ?? -1));
  await done;
  t.equal(r.ch.state, DataChannelState.Closed);

  const o = rig();
  await established(o, '2.3.722.0');
  const before = o.conn.last.frames.length;
  await o.ch.terminate();
  t.equal(o.conn.last.frames.length, before, 'no flag to an agent that cannot take it');

  const s = rig({ terminateAckTimeoutMs: 500 });
  await established(s);
  const ds = s.ch.terminate();
  s.clock.advance(500);
  await ds;
  t.equal(s.ch.state, DataChannelState.Closed, 'closes anyway when the ack never comes');
});

t.test('a KMS handler plugs into the handshake and the payload path', async (t) => {
  const xor = (b: Buffer): Buffer => Buffer.from(b.map((x) => x ^ 0x5a));
  const r = rig({
    kms: {
      processKmsEncryption: async (p, ctx) => ({
        KMSCipherTextKey: `key-for-${p.kmsKeyId}-${ctx.sessionId}`,
        KMSCipherTextHash: null,
      }),
      answerChallenge: (c) => `re-${c}`,
      encrypt: xor,
      decrypt: xor,
    },
  });
  const p = r.ch.open();
  await flush();
  const tr = r.conn.last;
  const { encodeHandshakeRequest, kmsEncryptionAction, sessionTypeAction, encodeEncChallenge } =
    await import('../../src/protocol/ssm/index.js');
  tr.receive(
    agentFrame(
      0,
      PayloadType.HandshakeRequest,
      encodeHandshakeRequest({
        agentVersion: '3.3.1142.0',
        requestedClientActions: [
          sessionTypeAction({ sessionType: 'Port', properties: { type: 'LocalPortForwarding', portNumber: '1' } }),
          kmsEncryptionAction({ kmsKeyId: 'k1' }),
        ],
      }),
    ),
  );
  await flush();
  const resp = decodeHandshakeResponse(
    tr.messages().find((m) => m.payloadType === PayloadType.HandshakeResponse)?.payload ?? Buffer.from('{}'),
  );
  t.same(resp.processedClientActions[1], {
    actionType: 'KMSEncryption',
    actionStatus: 1,
    actionResult: { KMSCipherTextKey: 'key-for-k1-s-1', KMSCipherTextHash: null },
    error: '',
  });
  tr.receive(agentFrame(1, PayloadType.EncChallengeRequest, encodeEncChallenge('QUJD')));
  await flush();
  const ch = tr.messages().find((m) => m.payloadType === PayloadType.EncChallengeResponse);
  t.equal(ch?.payload.toString(), '{"Challenge":"re-QUJD"}');
  t.equal(ch?.sequenceNumber, 1);
  tr.receive(handshakeComplete(2, 'This session is encrypted using AWS KMS.'));
  t.equal((await p).customerMessage, 'This session is encrypted using AWS KMS.');
  const got: Buffer[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b));
  tr.receive(agentFrame(3, PayloadType.Output, xor(Buffer.from('secret'))));
  t.equal(got[0]?.toString(), 'secret');
  r.ch.sendData(Buffer.from('plain'));
  t.equal(
    tr.messages().at(-1)?.payload.toString(),
    xor(Buffer.from('plain')).toString(),
    'Output encrypted on the wire',
  );
  r.ch.sendFlag(FlagCode.TerminateSession);
  t.equal(tr.messages().at(-1)?.payload.toString('hex'), '00000002', 'flags are never encrypted');
  r.ch.close();
});

t.test('KMSEncryption without a handler is answered Failed and open() rejects', async (t) => {
  const r = rig();
  const p = r.ch.open();
  await flush();
  const { encodeHandshakeRequest, kmsEncryptionAction, sessionTypeAction } =
    await import('../../src/protocol/ssm/index.js');
  r.conn.last.receive(
    agentFrame(
      0,
      PayloadType.HandshakeRequest,
      encodeHandshakeRequest({
        agentVersion: '3.3.1142.0',
        requestedClientActions: [
          sessionTypeAction({ sessionType: 'Port', properties: {} }),
          kmsEncryptionAction({ kmsKeyId: 'k' }),
        ],
      }),
    ),
  );
  await t.rejects(p, { code: 'ERR_SESSION_ENCRYPTION' });
  const resp = decodeHandshakeResponse(
    r.conn.last.messages().find((m) => m.payloadType === PayloadType.HandshakeResponse)?.payload ?? Buffer.from('{}'),
  );
  t.equal(resp.processedClientActions[1]?.actionStatus, 2);
});

t.test('open() twice, and use before open, are refused', async (t) => {
  const r = rig();
  t.throws(() => r.ch.sendData(Buffer.from('x')), { code: 'ERR_SESSION_CLOSED' });
  const p = r.ch.open();
  await t.rejects(r.ch.open(), { code: 'ERR_SESSION_CLOSED' });
  r.ch.close();
  await t.rejects(p, { code: 'ERR_SESSION_CLOSED' });
});

t.test('reconnect: the StreamUrl ResumeSession returned is used; an empty one keeps the current URL', async (t) => {
  const fresh = 'wss://ssmmessages.example/v1/data-channel/s-1?role=publish_subscribe&cell-number=AAEC';
  const grants = [
    { tokenValue: 'TOKEN-2', streamUrl: fresh },
    { tokenValue: 'TOKEN-3', streamUrl: '' },
  ];
  const r = rig({ resume: async () => grants.shift() });
  await established(r);
  r.conn.last.drop();
  await flush();
  t.same(r.conn.urls, [URL, fresh], 'the first reconnect goes to the fresh URL');
  t.equal(decodeOpenDataChannel(r.conn.last.texts[0] ?? '').tokenValue, 'TOKEN-2');
  r.conn.last.drop();
  await flush();
  // A second drop right after a resume waits out the growing backoff (issue 13) first.
  r.clock.advance(1_000);
  await flush();
  t.same(r.conn.urls, [URL, fresh, fresh], 'an empty StreamUrl keeps the current one');
  t.equal(decodeOpenDataChannel(r.conn.last.texts[0] ?? '').tokenValue, 'TOKEN-3');
  r.ch.close();
});

t.test('a refused upgrade (HTTP 403) is final: no retries on open, none on reconnect', async (t) => {
  const refused = (): SessionError =>
    new SessionError('ERR_SESSION_UPGRADE_REFUSED', 'the endpoint refused the websocket upgrade (HTTP 403)');
  let calls = 0;
  const r = rig({
    connect: async () => {
      calls++;
      throw refused();
    },
  });
  await t.rejects(r.ch.open(), { code: 'ERR_SESSION_UPGRADE_REFUSED' });
  t.equal(calls, 1, 'open: one connect, no retry storm');

  const conn = new FakeConnector();
  let n = 0;
  const r2 = rig({
    connect: async (url) => {
      n++;
      if (n > 1) throw refused();
      return conn.connect(url);
    },
  });
  const p = r2.ch.open();
  await flush();
  conn.last.receive(handshakeRequest({ agentVersion: '3.3.1142.0' }));
  await flush();
  conn.last.receive(agentAck(0));
  conn.last.receive(handshakeComplete(1));
  await p;
  conn.last.drop();
  await flush(6);
  t.equal(r2.resumes, 1, 'one ResumeSession');
  t.equal(n, 2, 'one refused reconnect, not six');
  t.equal(r2.errors[0]?.code, 'ERR_SESSION_UPGRADE_REFUSED');
});
