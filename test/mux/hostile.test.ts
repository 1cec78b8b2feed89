/**
 * Hostile peers: bad version, unknown commands, wrong lengths, duplicate SYN, data for unknown
 * streams, and seeded random garbage after xtaci/smux's TestRandomFrame. The session must end
 * with a typed error or ignore the frame as xtaci does, never throw, and keep memory bounded.
 */
import t from 'tap';
import { Duplex } from 'node:stream';
import { MuxSession, type MuxStream } from '../../src/mux/index.js';
import { Cmd, HEADER_SIZE, encodeFrame, writeHeader } from '../../src/protocol/smux/index.js';
import { MuxError } from '../../src/errors.js';
import { randInt, randomBytesFrom, seededRandom } from '../helpers/hex.js';

class RawCarrier extends Duplex {
  written = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written += chunk.length;
    cb();
  }
}

interface Rig {
  raw: RawCarrier;
  session: MuxSession;
  accepted: MuxStream[];
  streamErrors: string[];
  warnings: string[];
  closeErr: () => MuxError | undefined;
  closed: () => boolean;
}

function rig(version: 1 | 2 = 1, role: 'client' | 'server' = 'server'): Rig {
  const raw = new RawCarrier();
  const session = new MuxSession(raw, {
    role,
    config: { version, keepAliveDisabled: true, maxReceiveBufferBytes: 256 * 1024, maxStreamBufferBytes: 65_536 },
  });
  const accepted: MuxStream[] = [];
  const streamErrors: string[] = [];
  const warnings: string[] = [];
  let closeErr: MuxError | undefined;
  let closed = false;
  session.on('stream', (s: MuxStream) => {
    accepted.push(s);
    s.on('error', (e: MuxError) => streamErrors.push(e.code));
  });
  session.on('warning', (w: MuxError) => warnings.push(w.code));
  session.on('close', (e?: MuxError) => {
    closed = true;
    closeErr = e;
  });
  return { raw, session, accepted, streamErrors, warnings, closeErr: () => closeErr, closed: () => closed };
}

function frame(version: number, cmd: number, streamId: number, length: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(HEADER_SIZE + data.length);
  writeHeader(b, 0, version, cmd as Cmd, length, streamId);
  data.copy(b, HEADER_SIZE);
  return b;
}

async function settle(turns = 4): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

const fatal: Array<[string, Buffer, 1 | 2, string]> = [
  ['a version-2 frame on a version-1 session', frame(2, Cmd.NOP, 0, 0), 1, 'ERR_SMUX_BAD_VERSION'],
  ['a version-1 frame on a version-2 session', frame(1, Cmd.NOP, 0, 0), 2, 'ERR_SMUX_BAD_VERSION'],
  ['version 0x7f', frame(0x7f, Cmd.PSH, 3, 0), 1, 'ERR_SMUX_BAD_VERSION'],
  ['cmd 5', frame(1, 5, 3, 0), 1, 'ERR_SMUX_UNKNOWN_COMMAND'],
  ['cmd 0xff', frame(1, 0xff, 3, 0), 1, 'ERR_SMUX_UNKNOWN_COMMAND'],
  ['NOP with length 4', frame(1, Cmd.NOP, 0, 4, Buffer.alloc(4)), 1, 'ERR_SMUX_BAD_LENGTH'],
  ['SYN with length 1', frame(1, Cmd.SYN, 9, 1, Buffer.alloc(1)), 1, 'ERR_SMUX_BAD_LENGTH'],
  ['FIN with length 65535 (no data follows)', frame(1, Cmd.FIN, 3, 0xffff), 1, 'ERR_SMUX_BAD_LENGTH'],
  ['UPD with length 0', frame(2, Cmd.UPD, 3, 0), 2, 'ERR_SMUX_BAD_LENGTH'],
  ['UPD with length 16', frame(2, Cmd.UPD, 3, 16, Buffer.alloc(16)), 2, 'ERR_SMUX_BAD_LENGTH'],
];

for (const [name, bytes, version, code] of fatal) {
  t.test(`${name} closes the session with ${code} and resets its streams`, async (t) => {
    const r = rig(version);
    r.raw.push(encodeFrame({ version, cmd: Cmd.SYN, streamId: 3 }));
    await settle();
    t.equal(r.accepted.length, 1);
    const before = r.raw.written;
    r.raw.push(bytes);
    r.raw.push(encodeFrame({ version, cmd: Cmd.SYN, streamId: 5 })); // nothing after the error is read
    await settle();
    t.equal(r.closed(), true, 'session closed');
    t.equal(r.closeErr()?.code, code);
    t.ok(r.closeErr() instanceof MuxError, 'a MuxError');
    t.same(r.streamErrors, ['ERR_SMUX_STREAM_RESET'], 'open stream reset');
    t.equal(r.accepted.length, 1, 'no frame accepted after the bad one');
    t.equal(r.raw.written, before, 'nothing written: session close sends no FIN');
  });
}

t.test('a SYN for an existing stream is ignored with a warning', async (t) => {
  const r = rig();
  const syn = encodeFrame({ version: 1, cmd: Cmd.SYN, streamId: 3 });
  r.raw.push(syn);
  r.raw.push(encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 3, data: Buffer.from('x') }));
  r.raw.push(syn);
  await settle();
  t.equal(r.accepted.length, 1, 'one stream');
  t.same(r.warnings, ['ERR_SMUX_DUPLICATE_STREAM']);
  t.equal(r.session.streamCount, 1);
  t.equal(r.session.receiveBufferedBytes, 1, 'the existing stream keeps its data');
  t.equal(r.closed(), false);
});

t.test('PSH, FIN and UPD for unknown streams are discarded; zero-length PSH is nothing', async (t) => {
  const r = rig(2);
  r.raw.push(encodeFrame({ version: 2, cmd: Cmd.PSH, streamId: 41, data: Buffer.alloc(60_000) }));
  r.raw.push(encodeFrame({ version: 2, cmd: Cmd.FIN, streamId: 41 }));
  r.raw.push(frame(2, Cmd.UPD, 41, 8, Buffer.alloc(8)));
  r.raw.push(encodeFrame({ version: 2, cmd: Cmd.SYN, streamId: 3 }));
  r.raw.push(encodeFrame({ version: 2, cmd: Cmd.PSH, streamId: 3 }));
  await settle();
  t.equal(r.session.receiveBufferedBytes, 0, 'no budget used');
  t.equal(r.session.streamCount, 1);
  t.equal(r.closed(), false);
  t.equal(r.raw.written, 0, 'nothing answered');
});

t.test('data after the peer FIN is discarded', async (t) => {
  const r = rig();
  r.raw.push(encodeFrame({ version: 1, cmd: Cmd.SYN, streamId: 3 }));
  r.raw.push(encodeFrame({ version: 1, cmd: Cmd.FIN, streamId: 3 }));
  r.raw.push(encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(100) }));
  await settle();
  t.equal(r.session.receiveBufferedBytes, 0);
  t.equal(r.closed(), false);
});

/**
 * xtaci TestRandomFrame, as a model: random bytes after a SYN; random frames of every known
 * command with random ids; random command bytes; random versions; headers whose length
 * promises more than arrives. Seeded, so a failure reproduces.
 */
t.test('seeded random garbage never throws, ends typed or is ignored, and stays bounded', async (t) => {
  const rnd = seededRandom(0x5a5a);
  const codes = new Map<string, number>();
  const allowed = new Set([
    'ERR_SMUX_BAD_VERSION',
    'ERR_SMUX_UNKNOWN_COMMAND',
    'ERR_SMUX_BAD_LENGTH',
    'ERR_SMUX_WINDOW_VIOLATION',
  ]);
  let survived = 0;
  let unexpected = 0;
  let unbounded = 0;
  const rounds = 1500;
  for (let round = 0; round < rounds; round++) {
    const version = (randInt(rnd, 2) + 1) as 1 | 2;
    const r = rig(version, randInt(rnd, 2) === 0 ? 'server' : 'client');
    // A stream of our own, with some data written, so UPD/FIN/PSH can hit a live id.
    const own = r.session.openStream();
    own.on('error', () => {});
    own.write(Buffer.alloc(randInt(rnd, 100)));
    let fed = 0;
    const kind = round % 7;
    for (let i = 0; i < 40; i++) {
      let bytes: Buffer;
      const sid = [0, 1, 2, 3, own.id, randInt(rnd, 2 ** 32)][randInt(rnd, 6)] as number;
      switch (kind) {
        case 0: // random bytes after a SYN
          bytes =
            i === 0 ? encodeFrame({ version, cmd: Cmd.SYN, streamId: 3 }) : randomBytesFrom(rnd, randInt(rnd, 64));
          break;
        case 1: {
          // well-formed frames of every known command with random ids
          const cmd = randInt(rnd, 5) as Cmd;
          const data =
            cmd === Cmd.PSH
              ? randomBytesFrom(rnd, randInt(rnd, 200))
              : cmd === Cmd.UPD
                ? randomBytesFrom(rnd, 8)
                : Buffer.alloc(0);
          bytes = encodeFrame({ version, cmd, streamId: sid, data });
          break;
        }
        case 2: // random command byte
          bytes = frame(version, randInt(rnd, 256), sid, 0);
          break;
        case 3: // random version byte
          bytes = frame(randInt(rnd, 256), randInt(rnd, 5), sid, 0);
          break;
        case 4: // a header promising more data than follows
          bytes = frame(version, Cmd.PSH, sid, randInt(rnd, 0x10000), randomBytesFrom(rnd, randInt(rnd, 32)));
          break;
        case 5: {
          // a control command with a length (wrong for SYN/FIN/NOP unless 0, for UPD unless 8)
          const cmd = [Cmd.SYN, Cmd.FIN, Cmd.NOP, Cmd.UPD][randInt(rnd, 4)] as Cmd;
          const length = randInt(rnd, 3) === 0 ? randInt(rnd, 0x10000) : randInt(rnd, 12);
          bytes = frame(version, cmd, sid, length, randomBytesFrom(rnd, Math.min(length, 16)));
          break;
        }
        default: // random header fields with random data
          bytes = Buffer.concat([randomBytesFrom(rnd, 8), randomBytesFrom(rnd, randInt(rnd, 32))]);
      }
      fed += bytes.length;
      try {
        r.raw.push(bytes);
      } catch {
        unexpected++;
      }
    }
    await settle(2);
    if (r.closed()) {
      const code = r.closeErr()?.code ?? 'none';
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (!allowed.has(code) || !(r.closeErr() instanceof MuxError)) unexpected++;
    } else {
      survived++;
      // Memory: unparsed input never exceeds one frame (a header's promise, at most 65535 + 8).
      if (r.session.decoderBufferedBytes > 0xffff + HEADER_SIZE || r.session.decoderBufferedBytes > fed) unbounded++;
      if (r.session.receiveBufferedBytes > 256 * 1024 + 0xffff) unbounded++;
      r.session.close();
    }
    for (const s of r.accepted) s.destroy();
  }
  t.equal(unexpected, 0, 'no throw and no untyped close');
  t.equal(unbounded, 0, 'buffers bounded');
  t.ok(
    survived > 0 && survived < rounds,
    `${survived} of ${rounds} sessions survived; closes: ${JSON.stringify(Object.fromEntries(codes))}`,
  );
  t.ok(
    (codes.get('ERR_SMUX_BAD_VERSION') ?? 0) > 0 &&
      (codes.get('ERR_SMUX_UNKNOWN_COMMAND') ?? 0) > 0 &&
      (codes.get('ERR_SMUX_BAD_LENGTH') ?? 0) > 0,
    'every fatal code was hit',
  );
});
