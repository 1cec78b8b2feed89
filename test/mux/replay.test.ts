/**
 * Replays the recorded xtaci/smux sessions from smux-frames.json against our MuxSession:
 * feed one side's recorded bytes into our session playing the other side, drive the same
 * application steps, and check our session writes exactly the recorded bytes of its side.
 */
import t from 'tap';
import { MuxSession } from '../../src/mux/index.js';
import type { MuxStream } from '../../src/mux/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { createDuplexPair, type DuplexPairEnd } from '../helpers/duplex-pair.js';
import {
  BIG_PATTERN,
  type Direction,
  type Scenario,
  directionBytes,
  frameBytes,
  loadSmuxVectors,
  sha256,
} from '../protocol/smux/smux-vectors.js';

const file = loadSmuxVectors();

/** Let the event loop run (no timers, no sleeping) until `cond` holds or the turn budget ends. */
async function until(cond: () => boolean, turns = 200): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return true;
    await new Promise<void>((r) => setImmediate(r));
  }
  return cond();
}

async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A carrier end whose outgoing bytes the test reads, and whose incoming bytes the test writes. */
function harness(): { ours: DuplexPairEnd; theirs: DuplexPairEnd; output: () => Buffer } {
  const [ours, theirs] = createDuplexPair();
  const chunks: Buffer[] = [];
  theirs.on('data', (c: Buffer) => chunks.push(c));
  return { ours, theirs, output: () => Buffer.concat(chunks) };
}

/** Recorded bytes of `dir` belonging to one step. */
function stepBytes(s: Scenario, dir: Direction, step: string): Buffer {
  return Buffer.concat(s.frames.filter((f) => f.dir === dir && f.step === step).map(frameBytes));
}

/** Write `bytes` in pieces of `piece` bytes: smux frames are not aligned with carrier chunks. */
function feed(theirs: DuplexPairEnd, bytes: Buffer, piece: number): void {
  for (let i = 0; i < bytes.length; i += piece) theirs.write(bytes.subarray(i, i + piece));
}

/** 1024 is what SSM carries per message; the others cut headers and data at odd places. */
const PIECES = [1024, 1, 7, 333];

const lifecycle = file.scenarios.filter((s) => s.name.startsWith('stream_lifecycle'));

for (const s of lifecycle) {
  const version = s.protocol_version as 1 | 2;
  const config = {
    version,
    keepAliveDisabled: true,
    maxFrameBytes: 32_768,
    maxReceiveBufferBytes: 4_194_304,
    maxStreamBufferBytes: 65_536,
  };
  t.equal(s.config['MaxFrameSize'], config.maxFrameBytes);

  for (const piece of PIECES)
    t.test(
      `${s.name}: a server session fed the client's recorded bytes (${piece}-byte pieces) writes exactly the recorded server bytes`,
      async (t) => {
        const { ours, theirs, output } = harness();
        const server = new MuxSession(ours, { role: 'server', config });
        const streams = new Map<number, { stream: MuxStream; data: Buffer[]; ended: boolean }>();
        server.on('stream', (stream: MuxStream) => {
          const rec = { stream, data: [] as Buffer[], ended: false };
          streams.set(stream.id, rec);
          stream.on('data', (d: Buffer) => rec.data.push(d));
          // "server reads EOF, then server Close()"
          stream.on('end', () => {
            rec.ended = true;
            stream.end();
          });
        });
        let expected = Buffer.alloc(0);
        for (const step of s.steps) {
          if (step.startsWith('4 ')) streams.get(3)?.stream.write('pong'); // "server Write 4 bytes"
          if (step.startsWith('7 ')) server.close();
          feed(theirs, stepBytes(s, 'client_to_server', step), piece);
          expected = Buffer.concat([expected, stepBytes(s, 'server_to_client', step)]);
          await until(() => output().length >= expected.length);
          await settle();
          t.equal(output().toString('hex'), expected.toString('hex'), `after step "${step}"`);
        }
        const all = output();
        t.equal(all.length, s.byte_streams.server_to_client.length, 'server byte stream length');
        t.equal(sha256(all), s.byte_streams.server_to_client.sha256, 'server byte stream sha256');
        const s3 = streams.get(3);
        t.ok(s3 !== undefined && s3.ended, 'stream 3 accepted and read to EOF');
        t.equal(
          sha256(Buffer.concat(s3?.data ?? [])),
          sha256(Buffer.concat([Buffer.from('abc'), BIG_PATTERN])),
          'stream 3 carried "abc" + the 70000-byte pattern',
        );
        t.ok(streams.get(5)?.ended, 'stream 5 accepted and ended');
        t.same([...streams.keys()], [3, 5]);
        t.equal(server.isClosed, true);
      },
    );

  for (const piece of PIECES)
    t.test(
      `${s.name}: a client session fed the server's recorded bytes (${piece}-byte pieces) writes exactly the recorded client bytes`,
      async (t) => {
        const { ours, theirs, output } = harness();
        const client = new MuxSession(ours, { role: 'client', config });
        let s3: MuxStream | undefined;
        const got: Buffer[] = [];
        let ended3 = false;
        let expected = Buffer.alloc(0);
        for (const step of s.steps) {
          const n = step.slice(0, 2);
          const serverBytes = stepBytes(s, 'server_to_client', step);
          if (n === '1 ') {
            s3 = client.openStream();
            t.equal(s3.id, 3, 'first client stream id is 3');
            s3.on('data', (d: Buffer) => got.push(d));
            s3.on('end', () => (ended3 = true));
          } else if (n === '2 ') s3?.write('abc');
          else if (n === '3 ') {
            s3?.write(BIG_PATTERN);
            if (version === 2) {
              // After UPD(3, 65536) the window is 65536: the third PSH waits for the next UPD.
              await settle();
              t.equal(
                output().length,
                8 + 11 + 2 * (8 + 32_768),
                'v2: two full PSH frames, then the writer waits for window',
              );
            }
          } else if (n === '5 ') s3?.end();
          else if (n === '6 ') {
            const s5 = client.openStream();
            t.equal(s5.id, 5, 'second client stream id is 5');
            s5.resume();
            s5.end();
          } else if (n === '7 ') client.close();
          feed(theirs, serverBytes, piece);
          expected = Buffer.concat([expected, stepBytes(s, 'client_to_server', step)]);
          await until(() => output().length >= expected.length);
          await settle();
          t.equal(output().toString('hex'), expected.toString('hex'), `after step "${step}"`);
        }
        const all = output();
        t.equal(all.length, s.byte_streams.client_to_server.length, 'client byte stream length');
        t.equal(sha256(all), s.byte_streams.client_to_server.sha256, 'client byte stream sha256');
        t.equal(Buffer.concat(got).toString(), 'pong', 'client read "pong"');
        t.ok(ended3, 'client saw EOF on stream 3');
        t.equal(client.isClosed, true);
      },
    );
}

t.test('the recorded byte streams are the concatenation of the frames', async (t) => {
  for (const s of lifecycle) {
    t.equal(sha256(directionBytes(s, 'client_to_server')), s.byte_streams.client_to_server.sha256, s.name);
  }
});

for (const s of file.scenarios.filter((x) => x.name.startsWith('keepalive'))) {
  t.test(`${s.name}: each idle session writes a NOP on the first interval tick`, async (t) => {
    const version = s.protocol_version as 1 | 2;
    const clock = new FakeClock();
    const interval = Number(s.config['KeepAliveInterval_ms_used_for_capture']);
    const timeout = Number(s.config['KeepAliveTimeout_ms_default']);
    const [a, b] = createDuplexPair();
    const fromClient: Buffer[] = [];
    const fromServer: Buffer[] = [];
    // Observe the bytes each session writes without consuming them from the other session.
    const origA = a.write.bind(a);
    const origB = b.write.bind(b);
    a.write = ((chunk: Buffer, ...rest: never[]) => (
      fromClient.push(Buffer.from(chunk)),
      origA(chunk, ...rest)
    )) as typeof a.write;
    b.write = ((chunk: Buffer, ...rest: never[]) => (
      fromServer.push(Buffer.from(chunk)),
      origB(chunk, ...rest)
    )) as typeof b.write;
    const config = { version, keepAliveDisabled: false, keepAliveIntervalMs: interval, keepAliveTimeoutMs: timeout };
    const client = new MuxSession(a, { role: 'client', config, clock });
    const server = new MuxSession(b, { role: 'server', config, clock });
    t.teardown(() => {
      client.close();
      server.close();
    });
    clock.advance(interval - 1);
    t.equal(fromClient.length + fromServer.length, 0, 'nothing before the first tick');
    clock.advance(1);
    t.equal(Buffer.concat(fromClient).toString('hex'), s.byte_streams.client_to_server.hex, 'client NOP bytes');
    t.equal(Buffer.concat(fromServer).toString('hex'), s.byte_streams.server_to_client.hex, 'server NOP bytes');
    await settle();
    clock.advance(interval);
    t.equal(fromClient.length, 2, 'a NOP on every tick');
  });
}
