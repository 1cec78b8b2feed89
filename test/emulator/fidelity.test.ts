/**
 * Fidelity: replay the client side (c2s) of every real-agent transcript in test/session/fixtures
 * against the emulator, with a raw client built from our codecs over a real websocket, and check
 * that the emulator answers as the real agent 3.3.1142.0 did: message types, flags, payload
 * types, JSON fields and sequence numbers of every control record, the acknowledgements, the
 * bytes each smux stream (or the basic-mode connection) carried, and channel_closed.
 *
 * Adaptations (timing aside): fresh tokens; the client's acks are produced by the raw client
 * (they acknowledge our emulator's records, not the recorded ids); each recorded c2s stream
 * message is sent once the emulator has produced at least what the real agent had produced
 * before it. Where the fixtures README says channel_closed came from the recording relay, the
 * documented service behaviour is expected instead (Output "" for the TerminateSession API).
 */
import t, { type Test } from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { decodeClientMessage, type ClientMessage } from '../../src/protocol/ssm/client-message.js';
import { MessageType, PayloadType } from '../../src/protocol/ssm/message-type.js';
import { decodeAcknowledge, decodeChannelClosed } from '../../src/protocol/ssm/payloads.js';
import type { DestinationMapping } from '../../src/emulator/options.js';
import { withEmulator, startSession } from '../helpers/emulator.js';
import { RawClient } from '../helpers/raw-client.js';

// The vendored transcripts (test/session/fixtures/, byte-identical copies of the shared ones).
const FIXTURES = new URL('../session/fixtures/', import.meta.url);
const TARGET = 'mi-0123456789abcdef0';

interface Row {
  dir: 'c2s' | 's2c' | 'a2s' | 's2a';
  t_ms: number;
  kind: 'text' | 'binary';
  hex?: string;
  text?: string;
}

/** The fixtures' workload server: GET n seed → AES-256-CTR keystream; PUT n → sha256 hex; ECHO → echo. */
function keystream(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

async function workloadServer(t: Test): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    let mode:
      { kind: 'put'; n: number; hash: ReturnType<typeof createHash>; got: number } | { kind: 'echo' } | undefined;
    sock.on('data', (chunk: Buffer) => {
      if (mode?.kind === 'echo') return void sock.write(chunk);
      if (mode?.kind === 'put') return put(chunk);
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) return;
      const line = buf.subarray(0, nl).toString();
      const rest = buf.subarray(nl + 1);
      const [cmd, n, seed] = line.split(' ');
      if (cmd === 'GET') sock.end(keystream(seed ?? '', Number(n)));
      else if (cmd === 'PUT') {
        mode = { kind: 'put', n: Number(n), hash: createHash('sha256'), got: 0 };
        put(rest);
      } else if (cmd === 'ECHO') {
        mode = { kind: 'echo' };
        if (rest.length > 0) sock.write(rest);
      } else sock.destroy();
    });
    function put(chunk: Buffer): void {
      if (mode?.kind !== 'put') return;
      mode.hash.update(chunk);
      mode.got += chunk.length;
      if (mode.got >= mode.n) sock.end(`${mode.hash.digest('hex')}\n`);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Application-level view of an Output byte stream: smux streams (mux) or raw bytes (basic). */
class AppView {
  readonly streams = new Map<number, { data: Buffer[]; bytes: number; fin: boolean }>();
  raw: Buffer[] = [];
  rawBytes = 0;
  #pending = Buffer.alloc(0);
  #psh: { sid: number; left: number } | undefined;
  readonly #mux: boolean;
  constructor(mux: boolean) {
    this.#mux = mux;
  }
  #stream(sid: number): { data: Buffer[]; bytes: number; fin: boolean } {
    let s = this.streams.get(sid);
    if (!s) {
      s = { data: [], bytes: 0, fin: false };
      this.streams.set(sid, s);
    }
    return s;
  }
  feed(payload: Buffer): void {
    this.raw.push(payload);
    this.rawBytes += payload.length;
    if (!this.#mux) return;
    let b = Buffer.concat([this.#pending, payload]);
    for (;;) {
      if (this.#psh) {
        const take = Math.min(this.#psh.left, b.length);
        const s = this.#stream(this.#psh.sid);
        s.data.push(b.subarray(0, take));
        s.bytes += take;
        this.#psh.left -= take;
        b = b.subarray(take);
        if (this.#psh.left > 0) break;
        this.#psh = undefined;
      }
      if (b.length < 8) break;
      const cmd = b.readUInt8(1);
      const len = b.readUInt16LE(2);
      const sid = b.readUInt32LE(4);
      b = b.subarray(8);
      if (cmd === 1) this.#stream(sid).fin = true;
      else if (cmd === 2) this.#psh = { sid, left: len };
      else if (cmd === 0) this.#stream(sid);
    }
    this.#pending = Buffer.from(b);
  }
  /** True when this view has at least what `other` has. */
  covers(other: AppView): boolean {
    if (this.rawBytes < (this.#mux ? 0 : other.rawBytes)) return false;
    for (const [sid, o] of other.streams) {
      const mine = this.streams.get(sid);
      if (o.bytes > 0 || o.fin) {
        if (!mine || mine.bytes < o.bytes || (o.fin && !mine.fin)) return false;
      }
    }
    return true;
  }
}

/** Resolves on the client's next record or close (listeners removed either way). */
function nextEvent(client: RawClient): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      client.off('record', done);
      client.off('closed', done);
      resolve();
    };
    client.on('record', done);
    client.on('closed', done);
  });
}

function jsonKeys(p: Buffer): string[] {
  return Object.keys(JSON.parse(p.toString()) as Record<string, unknown>);
}

const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl') && !f.endsWith('.agent.jsonl'));

for (const file of files) {
  t.test(`replays ${file}`, async (t) => {
    const rows = readFileSync(new URL(file, FIXTURES), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row);
    const recorded = rows.map((r) =>
      r.kind === 'binary' && r.hex !== undefined ? decodeClientMessage(Buffer.from(r.hex, 'hex')) : undefined,
    );
    const firstReq = recorded.find((m) => m?.payloadType === PayloadType.HandshakeRequest) as ClientMessage;
    const reqJson = JSON.parse(firstReq.payload.toString()) as {
      AgentVersion: string;
      RequestedClientActions: Array<{ ActionParameters: { Properties: Record<string, string> } }>;
    };
    const props = reqJson.RequestedClientActions[0]?.ActionParameters.Properties ?? {};
    const isBasic = file.includes('basic');
    const isMux = !isBasic;

    // Destinations: the recorded port numbers are mapped onto a loopback workload server.
    const workload = await workloadServer(t);
    const destinations: DestinationMapping[] = [];
    const port = Number(props['portNumber']);
    if (file.includes('connect-error'))
      destinations.push({ port, to: { host: '127.0.0.1', port: await closedPort() } });
    else destinations.push({ host: props['host'] ?? 'localhost', port, to: { host: '127.0.0.1', port: workload } });
    const emu = await withEmulator(t, {
      pacing: 'agent',
      instances: [{ instanceId: TARGET, agentVersion: reqJson.AgentVersion }],
      destinations,
    });
    const parameters: Record<string, string[]> = {
      portNumber: [props['portNumber'] ?? ''],
      localPortNumber: [props['localPortNumber'] ?? '0'],
    };
    if (props['host'] !== undefined) parameters['host'] = [props['host']];
    const session = await startSession(emu, {
      target: TARGET,
      documentName:
        props['host'] !== undefined ? 'AWS-StartPortForwardingSessionToRemoteHost' : 'AWS-StartPortForwardingSession',
      parameters,
    });

    // ---- replay -------------------------------------------------------------------------------
    const recView = new AppView(isMux);
    const recSeen = new Set<number>();
    const ourView = new AppView(isMux);
    let client: RawClient | undefined;
    // The recorded agent output, applied in sequence order (duplicates ignored).
    const recBySeq = new Map<number, ClientMessage>();
    let recNext = 0;
    const advanceRecorded = (): void => {
      for (let m = recBySeq.get(recNext); m !== undefined; m = recBySeq.get(recNext)) {
        if (m.payloadType === PayloadType.Output) recView.feed(m.payload);
        else recSeen.add(m.sequenceNumber);
        recNext += 1;
      }
    };
    const waitCovered = async (): Promise<void> => {
      for (;;) {
        if (!client) return;
        // Rebuild our view from the raw client's in-order Output.
        while (ourView.raw.length < client.output.length) ourView.feed(client.output[ourView.raw.length] as Buffer);
        const ctlOk = [...recSeen].every((seq) =>
          client?.received.some((m) => m.messageType === MessageType.OutputStreamData && m.sequenceNumber === seq),
        );
        if (ourView.covers(recView) && ctlOk) return;
        await nextEvent(client);
        if (client.closeCode !== undefined && client.received.at(-1)?.messageType === MessageType.ChannelClosed) return;
      }
    };
    const c2sSeqs: number[] = [];
    let texts = 0;
    const terminateApi = file.includes('terminate-api');

    for (const [i, row] of rows.entries()) {
      const m = recorded[i];
      if (row.dir === 'c2s' && row.kind === 'text') {
        texts += 1;
        await waitCovered();
        if (texts === 1) client = await RawClient.connect(session.streamUrl, session.tokenValue);
        else {
          // The relay dropped the socket here (after the agent had acked what was sent so far); the
          // client resumed with a new token on the same URL.
          for (const seq of new Set(c2sSeqs)) await client?.waitForAck(seq);
          const detached = once(emu.events, 'client-detached');
          await client?.reattach(session.streamUrl, emu.state.issueToken(session.sessionId));
          await detached;
        }
        continue;
      }
      if (m === undefined) continue;
      if (row.dir === 's2c') {
        if (m.messageType === MessageType.OutputStreamData) {
          if (!recBySeq.has(m.sequenceNumber)) recBySeq.set(m.sequenceNumber, m);
          advanceRecorded();
        } else if (m.messageType === MessageType.ChannelClosed && terminateApi) {
          await waitCovered();
          emu.terminate(session.sessionId);
        }
        continue;
      }
      if (m.messageType !== MessageType.InputStreamData || !client) continue;
      await waitCovered();
      let payload = m.payload;
      if (isBasic && m.payloadType === PayloadType.HandshakeResponse) {
        // The recording relay rewrote ClientVersion to 1.1.61.0 on its way to the agent.
        payload = Buffer.from(payload.toString().replace('"ClientVersion":"1.2.677.0"', '"ClientVersion":"1.1.61.0"'));
      }
      client.sendStream(m.payloadType, payload, m.sequenceNumber);
      c2sSeqs.push(m.sequenceNumber);
    }
    await waitCovered();
    if (!client) throw new Error('no client');
    const c = client;
    const uniqueC2s = [...new Set(c2sSeqs)];
    const recClosedEarly = file.includes('forbidden');
    for (const seq of uniqueC2s) {
      if (
        c.received.at(-1)?.messageType === MessageType.ChannelClosed &&
        !c.received.some(
          (r) =>
            r.messageType === MessageType.Acknowledge &&
            decodeAcknowledge(r.payload).acknowledgedMessageSequenceNumber === seq,
        )
      ) {
        // The session ended (e.g. forbidden host) before this record could be acked.
        continue;
      }
      await c.waitForAck(seq);
    }

    // ---- compare ------------------------------------------------------------------------------
    const ours = c.received;
    // (a) control records: same seq, payload type, flags and JSON as the real agent's.
    for (const rm of recorded) {
      if (rm?.messageType !== MessageType.OutputStreamData || rm.payloadType === PayloadType.Output) continue;
      const om = ours.find(
        (x) => x.messageType === MessageType.OutputStreamData && x.sequenceNumber === rm.sequenceNumber,
      );
      t.ok(om, `${PayloadType[rm.payloadType]} at seq ${rm.sequenceNumber}`);
      if (!om) continue;
      t.equal(om.payloadType, rm.payloadType, `seq ${rm.sequenceNumber}: payload type`);
      t.equal(om.flags, rm.flags, `seq ${rm.sequenceNumber}: flags`);
      if (rm.payloadType === PayloadType.HandshakeRequest)
        t.equal(om.payload.toString(), rm.payload.toString(), 'HandshakeRequest JSON, byte for byte');
      else if (rm.payloadType === PayloadType.HandshakeComplete) {
        t.same(jsonKeys(om.payload), jsonKeys(rm.payload), 'HandshakeComplete fields');
        t.ok(
          Number.isSafeInteger(
            (JSON.parse(om.payload.toString()) as { HandshakeTimeToComplete: number }).HandshakeTimeToComplete,
          ),
          'integer nanoseconds',
        );
      } else t.same(om.payload, rm.payload, `seq ${rm.sequenceNumber}: payload`);
    }
    const recCtl = new Set(
      recorded
        .filter((x) => x?.messageType === MessageType.OutputStreamData && x.payloadType !== PayloadType.Output)
        .map((x) => x?.sequenceNumber),
    );
    const extraCtl = ours.filter(
      (x) =>
        x.messageType === MessageType.OutputStreamData &&
        x.payloadType !== PayloadType.Output &&
        !recCtl.has(x.sequenceNumber),
    );
    t.same(
      extraCtl.map((x) => `${x.sequenceNumber}:${x.payloadType}`),
      [],
      'no control record the real agent did not send',
    );

    // (b) data: the same bytes per smux stream (and the same FINs), or the same basic-mode bytes.
    while (ourView.raw.length < c.output.length) ourView.feed(c.output[ourView.raw.length] as Buffer);
    if (isMux) {
      const rec = [...recView.streams]
        .filter(([, s]) => s.bytes > 0 || s.fin)
        .map(([sid, s]) => [sid, Buffer.concat(s.data).toString('hex'), s.fin]);
      const got = [...ourView.streams]
        .filter(([, s]) => s.bytes > 0 || s.fin)
        .map(([sid, s]) => [sid, Buffer.concat(s.data).toString('hex'), s.fin]);
      t.same(got, rec, 'each smux stream carried the same bytes and FIN');
    } else {
      t.equal(
        Buffer.concat(ourView.raw).toString('hex'),
        Buffer.concat(recView.raw).toString('hex'),
        'basic mode carried the same bytes',
      );
    }
    const ourOutputs = ours.filter(
      (x) => x.messageType === MessageType.OutputStreamData && x.payloadType === PayloadType.Output,
    );
    t.ok(
      ourOutputs.every((x) => x.payload.length <= 1024),
      'Output payloads ≤ 1024 bytes',
    );
    t.ok(
      ourOutputs.every((x) => x.flags === 0),
      'Output flags 0',
    );
    const outSeqs = [
      ...new Set(ours.filter((x) => x.messageType === MessageType.OutputStreamData).map((x) => x.sequenceNumber)),
    ].sort((a, b) => a - b);
    t.same(
      outSeqs,
      outSeqs.map((_, k) => k),
      'output sequence numbers are 0, 1, 2, … without gaps',
    );
    if (file === 'real-agent-remote-host.jsonl') {
      t.same(
        ourOutputs.map((x) => x.payload.length),
        recorded
          .filter((x) => x?.payloadType === PayloadType.Output && x.messageType === MessageType.OutputStreamData)
          .map((x) => x?.payload.length),
        'single stream: the same Output message sizes (4 × 1024, then the PSH tail with the FIN)',
      );
    }

    // (c) acks: every client stream message acked, with the real agent's header and JSON fields.
    const recAck = recorded.find((x, k) => x?.messageType === MessageType.Acknowledge && rows[k]?.dir === 's2c');
    const ourAcks = ours.filter((x) => x.messageType === MessageType.Acknowledge);
    t.ok(ourAcks.length > 0);
    t.same(
      ourAcks.filter((a) => a.sequenceNumber !== 0 || a.flags !== 3 || a.payloadType !== 0).length,
      0,
      'ack header: seq 0, Flags 3, PayloadType 0',
    );
    if (recAck)
      t.same(
        [...new Set(ourAcks.map((a) => jsonKeys(a.payload).join(',')))],
        [jsonKeys(recAck.payload).join(',')],
        'ack JSON fields',
      );
    t.same(
      [...new Set(ourAcks.map((a) => decodeAcknowledge(a.payload).acknowledgedMessageType))],
      ['input_stream_data'],
    );
    const acked = new Set(ourAcks.map((a) => decodeAcknowledge(a.payload).acknowledgedMessageSequenceNumber));
    t.same(
      uniqueC2s.filter((seq) => !acked.has(seq) && !(recClosedEarly && seq > 0)),
      [],
      'every client stream message was acked',
    );

    // (d) channel_closed, where the real service sends one.
    const recClosed = recorded.find((x) => x?.messageType === MessageType.ChannelClosed);
    if (recClosed) {
      const cc = await c.waitForChannelClosed();
      t.same([cc.sequenceNumber, cc.flags, cc.payloadType], [0, 0, 0], 'channel_closed header');
      t.same(jsonKeys(cc.payload), jsonKeys(recClosed.payload), 'channel_closed JSON fields');
      const want = file.includes('forbidden') ? decodeChannelClosed(recClosed.payload).output : '';
      t.equal(decodeChannelClosed(cc.payload).output, want, 'channel_closed Output (documented service behaviour)');
      t.equal(decodeChannelClosed(cc.payload).destinationId, TARGET);
    }

    // The workload really is the fixtures' workload (sanity check of this test's server).
    if (file === 'real-agent-mux-session.jsonl')
      t.equal(
        Buffer.concat(recView.streams.get(3)?.data ?? []).toString('hex'),
        keystream('tx-a', 4096).toString('hex'),
      );
    c.drop();
  });
}
