/**
 * Replay of real transcripts (official session-manager-plugin 1.2.677.0 ↔ real amazon-ssm-agent
 * 3.3.1142.0, recorded on the client's WebSocket; see fixtures/README.md).
 *
 * The agent side (`s2c`) is fed to our DataChannel through a FakeTransport, on a FakeClock that
 * follows the recorded `t_ms`. The application side of the official client (its Output and Flag
 * messages, which came from local TCP connections) is replayed through `sendData` / `sendFlag`
 * at the recorded points. We then check that our client answered as the official one did:
 * the open frame, the handshake (same bytes), the sequence numbers and payloads of every stream
 * message, and the acks. Where the fixtures README marks an upstream gap we must do better:
 * duplicates are re-acked (mux, resume), and an upload goes on after a resume (resume-upload).
 */
import t, { type Test } from 'tap';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeConnector, flush } from '../helpers/fake-transport.js';
import { DataChannel, type HandshakeResult } from '../../src/session/data-channel.js';
import { ReliableLink } from '../../src/session/reliable-link.js';
import {
  type ClientMessage,
  FlagCode,
  MessageType,
  PayloadType,
  decodeAcknowledge,
  decodeClientMessage,
  decodeFlag,
} from '../../src/protocol/ssm/index.js';
import { agentAck } from '../helpers/agent-script.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, 'fixtures');
const SHARED = join(here, '..', '..', '..', 'shared', 'fixtures');

interface Row {
  dir: 'c2s' | 's2c' | 'a2s' | 's2a';
  t_ms: number;
  kind: 'text' | 'binary';
  hex?: string;
  text?: string;
}

function load(name: string): Row[] {
  return readFileSync(join(FIXTURES, name), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
}

const frameOf = (r: Row): Buffer => Buffer.from(r.hex ?? '', 'hex');
const ackSeq = (m: ClientMessage): number => decodeAcknowledge(m.payload).acknowledgedMessageSequenceNumber;
const keystream = (seed: string, n: number): Buffer =>
  createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16)).update(Buffer.alloc(n));

/** Parses an smux v1 byte stream into per-stream data and the frame list. */
function smux(stream: Buffer): { frames: [number, number, number][]; data: Map<number, Buffer>; rest: number } {
  const frames: [number, number, number][] = [];
  const data = new Map<number, Buffer>();
  let i = 0;
  while (i + 8 <= stream.length) {
    const cmd = stream.readUInt8(i + 1);
    const len = stream.readUInt16LE(i + 2);
    const sid = stream.readUInt32LE(i + 4);
    if (i + 8 + len > stream.length) break;
    frames.push([cmd, len, sid]);
    if (cmd === 2)
      data.set(sid, Buffer.concat([data.get(sid) ?? Buffer.alloc(0), stream.subarray(i + 8, i + 8 + len)]));
    i += 8 + len;
  }
  return { frames, data, rest: stream.length - i };
}

interface ReplayOutcome {
  ch: DataChannel;
  conn: FakeConnector;
  clock: FakeClock;
  result: HandshakeResult | undefined;
  /** Payloads our client delivered, in order. */
  delivered: Buffer[];
  flags: FlagCode[];
  closed: { output: string }[];
  /** Our frames per transport, decoded. */
  ours: ClientMessage[][];
  /** Number of s2c stream messages fed, by sequence number. */
  fedCounts: Map<number, number>;
  /** The official client's binary messages. */
  official: ClientMessage[];
  officialTexts: string[];
  /** s2c Output payloads in first-arrival order, deduplicated by seq. */
  agentOutput: Buffer[];
}

/**
 * Replays one transcript. `beforeRow(i, row, ctx)` may inject extra application behaviour
 * (returns nothing); it runs before the row is processed.
 */
async function replay(
  name: string,
  beforeRow?: (row: Row, o: ReplayOutcome) => Promise<void> | void,
): Promise<ReplayOutcome> {
  const rows = load(name);
  const clock = new FakeClock();
  const conn = new FakeConnector();
  const ch = new DataChannel({
    streamUrl: 'wss://ssmmessages.example/v1/data-channel/bench-0?role=publish_subscribe',
    tokenValue: 'REDACTED',
    sessionId: 'bench-0',
    targetId: 'mi-0123456789abcdef0',
    clock,
    connect: conn.connect,
    resume: async () => 'REDACTED',
  });
  const o: ReplayOutcome = {
    ch,
    conn,
    clock,
    result: undefined,
    delivered: [],
    flags: [],
    closed: [],
    ours: [],
    fedCounts: new Map(),
    official: [],
    officialTexts: [],
    agentOutput: [],
  };
  ch.on('flag', (f: FlagCode) => o.flags.push(f));
  ch.on('closed', (c: { output: string }) => o.closed.push(c));
  const errors: unknown[] = [];
  ch.on('error', (e: unknown) => errors.push(e));
  const opened = ch.open().then((r) => {
    o.result = r;
    // The port layer exists from here on (our smux session would attach now).
    ch.on('data', (b: Buffer) => o.delivered.push(Buffer.from(b)));
  });
  await flush();
  const t0 = rows[0]?.t_ms ?? 0;
  const seenAgentSeq = new Set<number>();
  const drivenSeq = new Set<number>();
  let texts = 0;
  for (const row of rows) {
    const target = row.t_ms - t0;
    if (target > clock.now()) clock.advance(target - clock.now());
    await beforeRow?.(row, o);
    if (row.dir === 'c2s' && row.kind === 'text') {
      o.officialTexts.push(row.text ?? '');
      texts++;
      if (texts > 1) {
        // The socket was lost before this second open frame: drop ours too and let it resume.
        conn.last.drop();
        await flush();
      }
      continue;
    }
    if (row.dir === 's2c') {
      const frame = frameOf(row);
      const m = decodeClientMessage(frame);
      if (m.messageType === MessageType.OutputStreamData) {
        o.fedCounts.set(m.sequenceNumber, (o.fedCounts.get(m.sequenceNumber) ?? 0) + 1);
        if (m.payloadType === PayloadType.Output && !seenAgentSeq.has(m.sequenceNumber))
          o.agentOutput.push(Buffer.from(m.payload));
        seenAgentSeq.add(m.sequenceNumber);
      }
      if (!conn.last.closed) conn.last.receive(frame);
      await flush();
      continue;
    }
    // c2s binary: the official client's message.
    const m = decodeClientMessage(frameOf(row));
    o.official.push(m);
    if (m.messageType !== MessageType.InputStreamData || drivenSeq.has(m.sequenceNumber)) continue; // acks are ours to produce; resends too
    drivenSeq.add(m.sequenceNumber);
    if (m.payloadType === PayloadType.Output) ch.sendData(m.payload);
    else if (m.payloadType === PayloadType.Flag) ch.sendFlag(decodeFlag(m.payload));
    // HandshakeResponse (6) is produced by our client itself.
    await flush();
  }
  await opened.catch(() => undefined);
  o.ours = conn.transports.map((tr) => tr.messages());
  t.same(errors, [], `${name}: no error events`);
  ch.close();
  return o;
}

/** First transmission of each of our stream messages, across transports: [seq, payloadType, payloadHex]. */
function ourStream(o: ReplayOutcome): [number, number, string][] {
  const seen = new Set<number>();
  const out: [number, number, string][] = [];
  for (const m of o.ours.flat()) {
    if (m.messageType !== MessageType.InputStreamData || seen.has(m.sequenceNumber)) continue;
    seen.add(m.sequenceNumber);
    out.push([m.sequenceNumber, m.payloadType, m.payload.toString('hex')]);
  }
  return out;
}

function officialStream(o: ReplayOutcome): [number, number, string][] {
  const seen = new Set<number>();
  const out: [number, number, string][] = [];
  for (const m of o.official) {
    if (m.messageType !== MessageType.InputStreamData || seen.has(m.sequenceNumber)) continue;
    seen.add(m.sequenceNumber);
    out.push([m.sequenceNumber, m.payloadType, m.payload.toString('hex')]);
  }
  return out;
}

/** Common checks: open frames, handshake bytes and order, acks. Returns our acked seqs. */
function commonChecks(t: Test, name: string, o: ReplayOutcome): number[] {
  // Open frames: same key order and ClientVersion, same ClientId on every open, fresh RequestId.
  const ourTexts = o.conn.transports.map((tr) => tr.texts[0] ?? '');
  t.equal(ourTexts.length, o.officialTexts.length, 'one OpenDataChannel frame per websocket, as the official client');
  const keys = (s: string): string[] => Object.keys(JSON.parse(s) as object);
  for (let i = 0; i < ourTexts.length; i++) {
    t.same(keys(ourTexts[i] ?? '{}'), keys(o.officialTexts[i] ?? '{}'), `open frame ${i}: same keys in the same order`);
    const ours = JSON.parse(ourTexts[i] ?? '{}') as Record<string, string>;
    const theirs = JSON.parse(o.officialTexts[i] ?? '{}') as Record<string, string>;
    t.equal(ours['ClientVersion'], theirs['ClientVersion'], 'same ClientVersion');
    t.equal(ours['MessageSchemaVersion'], '1.0');
  }
  if (ourTexts.length > 1) {
    const a = JSON.parse(ourTexts[0] ?? '{}') as Record<string, string>;
    const b = JSON.parse(ourTexts[1] ?? '{}') as Record<string, string>;
    t.equal(a['ClientId'], b['ClientId'], 'same ClientId after the resume');
    t.not(a['RequestId'], b['RequestId'], 'new RequestId after the resume');
  }
  // Handshake: ack of seq 0 first, then the HandshakeResponse, byte-identical JSON.
  const first = o.ours[0] ?? [];
  t.same(
    first.slice(0, 2).map((m) => [m.messageType, m.sequenceNumber]),
    [
      ['acknowledge', 0],
      ['input_stream_data', 0],
    ],
    'ack of the HandshakeRequest, then HandshakeResponse seq 0 (official order)',
  );
  const ourResp = first[1];
  const theirResp = o.official.find((m) => m.payloadType === PayloadType.HandshakeResponse);
  t.equal(
    ourResp?.payload.toString(),
    theirResp?.payload.toString(),
    'HandshakeResponse identical to the official one',
  );
  // Acks: one per agent stream message we were fed (duplicates included); every official ack is among ours.
  const ourAcks = o.ours
    .flat()
    .filter((m) => m.messageType === MessageType.Acknowledge)
    .map(ackSeq);
  const officialAcks = o.official.filter((m) => m.messageType === MessageType.Acknowledge).map(ackSeq);
  const fed = [...o.fedCounts.values()].reduce((a, b) => a + b, 0);
  t.equal(ourAcks.length, fed, `${name}: one ack per agent stream message received (${fed})`);
  t.same(
    [...new Set(ourAcks)].sort((x, y) => x - y),
    [...new Set(officialAcks)]
      .sort((x, y) => x - y)
      .concat(missingOfficialAcks(o, officialAcks))
      .sort((x, y) => x - y),
    'the same sequence numbers acked',
  );
  // Never a retransmission of our own on the same socket here (every message was acked in time).
  for (const [i, msgs] of o.ours.entries()) {
    const seqs = msgs.filter((m) => m.messageType === MessageType.InputStreamData).map((m) => m.sequenceNumber);
    t.equal(new Set(seqs).size, seqs.length, `transport ${i}: no spurious retransmission`);
  }
  // Data delivered in order, exactly the agent's Output payloads.
  t.ok(Buffer.concat(o.delivered).equals(Buffer.concat(o.agentOutput)), 'agent Output delivered in order, once each');
  return ourAcks;
}

/** Seqs we acked that the official recording lacks because the ack was lost with a dropped socket. */
function missingOfficialAcks(o: ReplayOutcome, officialAcks: number[]): number[] {
  const off = new Set(officialAcks);
  return [...o.fedCounts.keys()].filter((s) => !off.has(s));
}

t.test('the fixture copies match the shared fixtures when present', async (t) => {
  const names = readdirSync(FIXTURES).filter((n) => n.endsWith('.jsonl'));
  t.equal(names.length, 9);
  if (!existsSync(SHARED)) {
    t.pass('shared fixtures not present on this machine');
    return;
  }
  for (const n of names) t.equal(readFileSync(join(FIXTURES, n), 'utf8'), readFileSync(join(SHARED, n), 'utf8'), n);
});

t.test('real-agent-mux-session: mux mode, two streams, Flag 2; the agent duplicate is re-acked', async (t) => {
  const o = await replay('real-agent-mux-session.jsonl');
  t.equal(o.result?.portMode, 'mux');
  t.equal(o.result?.smuxKeepAlive, false);
  const acks = commonChecks(t, 'mux', o);
  t.same(ourStream(o), officialStream(o), 'every stream message: same seq, type and payload as the official client');
  t.equal(o.fedCounts.get(6), 2, 'the agent sent seq 6 twice');
  t.equal(acks.filter((s) => s === 6).length, 2, 'we acked both copies (official: once), so the agent stops resending');
  const { data } = smux(Buffer.concat(o.delivered));
  t.ok(data.get(3)?.equals(keystream('tx-a', 4096)), 'GET 4096 tx-a: 4096 bytes intact');
});

t.test('real-agent-basic-session: basic mode from AgentVersion 3.0.196.0, DisconnectToPort flags', async (t) => {
  const o = await replay('real-agent-basic-session.jsonl');
  t.equal(o.result?.portMode, 'basic');
  t.equal(o.result?.agentVersion, '3.0.196.0');
  commonChecks(t, 'basic', o);
  t.same(ourStream(o), officialStream(o));
  t.same(
    ourStream(o)
      .filter(([, pt]) => pt === PayloadType.Flag)
      .map(([s, , p]) => [s, p]),
    [
      [2, '00000001'],
      [7, '00000001'],
      [8, '00000002'],
    ],
  );
  t.ok(Buffer.concat(o.delivered.slice(0, 4)).equals(keystream('tx-a', 4096)), 'the 4096-byte GET reply intact');
});

t.test('real-agent-connect-error: Flag ConnectToPortError surfaces, the session stays up', async (t) => {
  const o = await replay('real-agent-connect-error.jsonl');
  commonChecks(t, 'connect-error', o);
  t.same(o.flags, [FlagCode.ConnectToPortError]);
  t.same(ourStream(o), officialStream(o));
  t.same(smux(Buffer.concat(o.delivered)).frames, [[1, 0, 3]], 'then the agent FIN for stream 3');
});

t.test('real-agent-remote-host: one 4104-byte PSH over five messages', async (t) => {
  const o = await replay('real-agent-remote-host.jsonl');
  t.equal(o.result?.properties['host'], '127.0.0.1');
  commonChecks(t, 'remote-host', o);
  t.same(ourStream(o), officialStream(o));
  const s = smux(Buffer.concat(o.delivered));
  t.equal(s.data.get(3)?.length, 4096);
  t.equal(s.rest, 0);
});

t.test('real-agent-remote-host-forbidden: channel_closed after the handshake, with the agent Output', async (t) => {
  const o = await replay('real-agent-remote-host-forbidden.jsonl');
  commonChecks(t, 'forbidden', o);
  t.same(o.closed, [{ output: 'Forwarding to IP address 169.254.169.254 is forbidden.' }]);
  t.same(ourStream(o), officialStream(o));
  t.equal(o.ch.state, 'closed');
});

t.test('real-agent-terminate-api: channel_closed ends the session; no Flag, nothing sent back', async (t) => {
  const o = await replay('real-agent-terminate-api.jsonl');
  commonChecks(t, 'terminate-api', o);
  t.equal(o.closed.length, 1);
  t.match(o.closed[0]?.output, /^Session bench-[0-9a-f]+ was terminated\.$/);
  t.same(ourStream(o), officialStream(o), 'no Flag 2 and no FIN, like the official client');
  const last = (o.ours[0] ?? []).at(-1);
  t.equal(last?.messageType, 'acknowledge', 'our last frame is the ack of seq 2: nothing after channel_closed');
});

t.test(
  'real-agent-resume: resume mid-download, seq numbers unchanged, the ten seq-12 resends are re-acked',
  async (t) => {
    const o = await replay('real-agent-resume.jsonl');
    t.equal(o.conn.transports.length, 2, 'reconnected once');
    const acks = commonChecks(t, 'resume', o);
    t.same(ourStream(o), officialStream(o));
    t.equal(o.fedCounts.get(12), 11, 'seq 12 arrived once plus ten retransmissions');
    const second = o.ours[1] ?? [];
    t.equal(
      second.filter((m) => m.messageType === MessageType.Acknowledge && ackSeq(m) === 12).length,
      10,
      'each retransmission re-acked on the new socket (official: never)',
    );
    t.equal(acks.filter((s) => s === 12).length, 11);
    const s = smux(Buffer.concat(o.delivered));
    t.ok(s.data.get(3)?.equals(keystream('rs', 32768)), 'the 32768-byte download intact across the resume');
    t.same(s.frames.at(-1), [1, 0, 3], 'ends with the agent FIN');
  },
);

t.test('real-agent-resume-upload: unlike upstream, the upload goes on after the resume', async (t) => {
  const UPLOAD = 24576;
  let extra = 0;
  const o = await replay('real-agent-resume-upload.jsonl', async (row, ctx) => {
    // Before the final Flag 2 (SIGINT), send what the official client never sent: the rest of the
    // upload, which our client keeps numbering and delivering on the new socket.
    if (row.dir !== 'c2s' || row.kind !== 'binary') return;
    const m = decodeClientMessage(frameOf(row));
    if (m.payloadType !== PayloadType.Flag) return;
    ctx.ours = ctx.conn.transports.map((tr) => tr.messages());
    const sent = Buffer.concat(
      ourStream(ctx)
        .filter(([, pt]) => pt === PayloadType.Output)
        .map(([, , p]) => Buffer.from(p, 'hex')),
    );
    // sent = SYN (8) + PSH header (8) + "PUT 24576\n" (10) + PSH header (8) + the first part of the 24576 bytes.
    const dataStart = 8 + 8 + 10 + 8;
    const rest = uploadTail(sent.length - dataStart, dataStart + UPLOAD - sent.length);
    const before = ctx.ch.link.nextSequenceNumber;
    ctx.ch.sendData(rest);
    extra = ctx.ch.link.nextSequenceNumber - before;
    for (let s = before; s < before + extra; s++) ctx.conn.last.receive(agentAck(s));
    await flush();
  });
  t.equal(o.conn.transports.length, 2);
  const acks = commonChecks(t, 'resume-upload', o);
  t.ok(acks.length > 0);
  const ours = ourStream(o);
  const official = officialStream(o);
  t.same(
    ours.slice(0, 11),
    official.slice(0, 11),
    'seq 0..10 exactly as the official client (seq 10 sent again on the new socket)',
  );
  t.ok(extra >= 15, `${extra} more Output messages after the resume (official: none)`);
  t.same(
    ours.at(-1)?.slice(0, 2),
    [11 + extra, PayloadType.Flag],
    'Flag 2 follows them, numbered after the extra data',
  );
  const up = Buffer.concat(ours.filter(([, pt]) => pt === PayloadType.Output).map(([, , p]) => Buffer.from(p, 'hex')));
  const s = smux(up);
  t.same(
    s.frames,
    [
      [0, 0, 3],
      [2, 10, 3],
      [2, UPLOAD, 3],
    ],
    'SYN, "PUT 24576\\n", and the whole 24576-byte PSH',
  );
  t.equal(s.rest, 0, 'no partial frame left: the upload completed');
  t.equal(s.data.get(3)?.subarray(10).length, UPLOAD);
});

/** The rest of the upload. Only its prefix is in the transcript, so the tail is our own deterministic filler. */
function uploadTail(offset: number, n: number): Buffer {
  const out = Buffer.alloc(Math.max(0, n));
  for (let i = 0; i < out.length; i++) out[i] = (offset + i) % 251;
  return out;
}

t.test(
  'agent side of real-agent-terminate-api: a ReliableLink in the agent role answers as the real agent',
  async (t) => {
    const rows = load('real-agent-terminate-api.agent.jsonl');
    const clock = new FakeClock();
    const a2s = rows.filter((r) => r.dir === 'a2s' && r.kind === 'binary').map((r) => decodeClientMessage(frameOf(r)));
    const realStream = a2s.filter((m) => m.messageType === MessageType.OutputStreamData);
    const sent: ClientMessage[] = [];
    let next = 0;
    const link: ReliableLink = new ReliableLink({
      role: 'agent',
      clock,
      maxResends: Infinity,
      sendFrame: (f) => sent.push(decodeClientMessage(f)),
      deliver: (m) => {
        // The real agent answered the HandshakeResponse with HandshakeComplete and the ECHO with its reply.
        if (m.payloadType === PayloadType.HandshakeResponse || m.payloadType === PayloadType.Output) {
          const reply = realStream[next++];
          if (reply !== undefined) link.send(reply.payloadType, reply.payload);
        }
        return true;
      },
    });
    const first = realStream[next++];
    if (first !== undefined) link.send(first.payloadType, first.payload); // HandshakeRequest
    for (const r of rows) {
      if (r.dir !== 's2a' || r.kind !== 'binary') continue;
      const m = decodeClientMessage(frameOf(r));
      if (m.messageType === MessageType.ChannelClosed) break;
      link.handleMessage(m);
    }
    const ours = sent.map((m) => [
      m.messageType,
      m.sequenceNumber,
      m.flags,
      m.payloadType,
      m.messageType === MessageType.Acknowledge ? ackSeq(m) : m.payload.toString('hex'),
    ]);
    const real = a2s
      .filter((m) => m.messageType !== 'agent_session_state')
      .map((m) => [
        m.messageType,
        m.sequenceNumber,
        m.flags,
        m.payloadType,
        m.messageType === MessageType.Acknowledge ? ackSeq(m) : m.payload.toString('hex'),
      ]);
    // The real agent may send its ack of the HandshakeResponse before or after HandshakeComplete
    // (agent §4.2: "either order"), so stream messages and acks are compared separately.
    const isAck = (x: unknown[]): boolean => x[0] === MessageType.Acknowledge;
    t.same(
      ours.filter((x) => !isAck(x)),
      real.filter((x) => !isAck(x)),
      'same stream messages, sequence numbers, Flags (1 only on seq 0), payloads',
    );
    t.same(ours.filter(isAck), real.filter(isAck), 'same acks, in the same order');
    t.equal(link.unackedCount, 0);
    link.close();
  },
);
