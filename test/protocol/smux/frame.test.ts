import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import {
  Cmd,
  FrameDecoder,
  HEADER_SIZE,
  LENGTH_OFFSET,
  STREAM_ID_OFFSET,
  type SmuxFrame,
  decodeFrame,
  decodeHeader,
  decodeUpd,
  encodeFrame,
  encodeHeader,
  encodeUpd,
} from '../../../src/protocol/smux/index.js';
import { isTunnelError } from '../../../src/errors.js';
import { eachSplit, randomChunks, seededRandom } from '../../helpers/hex.js';
import {
  type FrameVector,
  SHARED_SMUX_VECTOR_PATH,
  SMUX_VECTOR_PATH,
  directionBytes,
  frameBytes,
  frameData,
  loadSmuxVectors,
  sha256,
} from './smux-vectors.js';

const file = loadSmuxVectors();
const allFrames: FrameVector[] = [...file.frame_examples, ...file.scenarios.flatMap((s) => s.frames)];

/** Naive oracle (yamux style): a slow DataView reading, independent of the codec under test. */
function naiveHeader(buf: Buffer): { version: number; cmd: number; length: number; streamId: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    version: dv.getUint8(0),
    cmd: dv.getUint8(1),
    length: dv.getUint16(2, true),
    streamId: dv.getUint32(4, true),
  };
}

function label(v: FrameVector): string {
  return v.name ?? `${v.dir ?? ''}#${v.index ?? '?'} ${v.cmd} sid=${v.stream_id} len=${v.length}`;
}

function expectFrame(t: Test, got: SmuxFrame | undefined, v: FrameVector, data: Buffer, what: string): void {
  t.ok(got !== undefined, `${what}: a frame`);
  if (got === undefined) return;
  t.equal(got.version, v.version, `${what}: version`);
  t.equal(Cmd[got.cmd], v.cmd, `${what}: cmd`);
  t.equal(got.streamId, v.stream_id, `${what}: stream id`);
  t.equal(got.data.length, v.length, `${what}: length`);
  t.ok(got.data.equals(data), `${what}: data bytes`);
}

t.test('layout constants: 8-byte header, length at 2, stream id at 4', async (t) => {
  t.equal(HEADER_SIZE, 8);
  t.equal(LENGTH_OFFSET, 2);
  t.equal(STREAM_ID_OFFSET, 4);
});

t.test('the vendored vector file matches ../shared when present', async (t) => {
  if (!existsSync(SHARED_SMUX_VECTOR_PATH)) {
    t.pass('shared vectors not present (clean clone); using the vendored copy');
    return;
  }
  t.ok(readFileSync(SMUX_VECTOR_PATH).equals(readFileSync(SHARED_SMUX_VECTOR_PATH)), 'byte-identical copy');
});

t.test('codec quartet for every frame vector', async (t) => {
  t.ok(allFrames.length >= 10 + 11 + 15 + 2 + 2, `${allFrames.length} frame vectors`);
  for (const v of allFrames) {
    const bytes = frameBytes(v);
    const data = frameData(v);
    const name = label(v);
    t.equal(bytes.length, HEADER_SIZE + v.length, `${name}: vector length`);
    if (v.header_hex !== undefined) t.equal(bytes.subarray(0, 8).toString('hex'), v.header_hex, `${name}: header_hex`);
    t.same(
      naiveHeader(bytes),
      { version: v.version, cmd: Cmd[v.cmd], length: v.length, streamId: v.stream_id },
      `${name}: naive oracle`,
    );
    // 1. decode(vector) equals the described frame
    const decoded = decodeFrame(bytes, v.version);
    expectFrame(t, decoded, v, data, `${name} decode`);
    // 2. encode(described frame) equals the vector
    const encoded = encodeFrame({ version: v.version, cmd: Cmd[v.cmd], streamId: v.stream_id, data });
    t.equal(encoded.toString('hex'), bytes.toString('hex'), `${name}: encode gives the vector bytes`);
    if (v.length === 0)
      t.equal(
        encodeHeader({ version: v.version, cmd: Cmd[v.cmd], length: 0, streamId: v.stream_id }).toString('hex'),
        bytes.toString('hex'),
        `${name}: encodeHeader`,
      );
    // 3. decode(encode(x)) equals x
    expectFrame(t, decodeFrame(encoded, v.version), v, data, `${name} round trip`);
    if (v.upd !== undefined) {
      t.same(decodeUpd(data), v.upd, `${name}: UPD body`);
      t.equal(encodeUpd(v.upd).toString('hex'), data.toString('hex'), `${name}: encodeUpd`);
    }
  }
});

t.test('the incremental decoder gives the same frame at every split point of every frame vector', async (t) => {
  let checks = 0;
  for (const v of allFrames) {
    const bytes = frameBytes(v);
    const data = frameData(v);
    let bad = 0;
    for (const [a, b] of eachSplit(bytes)) {
      const d = new FrameDecoder(v.version);
      const first = d.decode(a);
      const second = d.decode(b);
      const frames = [...first, ...second];
      const f = frames[0];
      const ok =
        frames.length === 1 &&
        f !== undefined &&
        f.cmd === Cmd[v.cmd] &&
        f.streamId === v.stream_id &&
        f.version === v.version &&
        f.data.equals(data) &&
        (a.length === bytes.length ? first.length === 1 : first.length === 0) &&
        d.bufferedBytes === 0;
      if (!ok) bad++;
      checks++;
    }
    t.equal(bad, 0, `${label(v)}: all ${bytes.length + 1} splits`);
  }
  t.ok(checks > 70_000, `${checks} split decodes`);
});

for (const s of file.scenarios) {
  t.test(`scenario ${s.name}: byte streams match the recorded lengths and sha256`, async (t) => {
    for (const dir of ['client_to_server', 'server_to_client'] as const) {
      const bytes = directionBytes(s, dir);
      const expected = s.byte_streams[dir];
      t.equal(bytes.length, expected.length, `${dir} length`);
      t.equal(sha256(bytes), expected.sha256, `${dir} sha256`);
      if (expected.hex !== undefined) t.equal(bytes.toString('hex'), expected.hex, `${dir} hex`);
    }
  });

  t.test(`scenario ${s.name}: the decoder recovers every frame at every split point of each direction`, async (t) => {
    for (const dir of ['client_to_server', 'server_to_client'] as const) {
      const vs = s.frames.filter((f) => f.dir === dir);
      const stream = directionBytes(s, dir);
      // Absolute offsets of each frame's data, to check zero-copy views cheaply.
      const starts: number[] = [];
      let at = 0;
      for (const v of vs) {
        starts.push(at + HEADER_SIZE);
        at += HEADER_SIZE + v.length;
      }
      let bad = 0;
      for (let split = 0; split <= stream.length; split++) {
        const d = new FrameDecoder(s.protocol_version);
        const frames = [...d.decode(stream.subarray(0, split)), ...d.decode(stream.subarray(split))];
        if (frames.length !== vs.length || d.bufferedBytes !== 0) {
          bad++;
          continue;
        }
        for (let i = 0; i < vs.length; i++) {
          const f = frames[i] as SmuxFrame;
          const v = vs[i] as FrameVector;
          const start = starts[i] as number;
          if (f.cmd !== Cmd[v.cmd] || f.streamId !== v.stream_id || f.data.length !== v.length) {
            bad++;
            break;
          }
          // The frame cut by the split is copied: compare its bytes. Others are views: their
          // position in the original buffer proves their content.
          const straddles = split > start && split < start + v.length;
          const same = straddles
            ? f.data.equals(stream.subarray(start, start + v.length))
            : f.data.length === 0 || f.data.byteOffset - stream.byteOffset === start;
          if (!same) {
            bad++;
            break;
          }
        }
      }
      t.equal(bad, 0, `${dir}: ${stream.length + 1} split points`);
      // Random multi-chunk splits, including the 1024-byte messages SSM actually uses.
      const rnd = seededRandom(0x5eed + stream.length);
      for (const max of [1, 7, 64, 1024, 40_000]) {
        const d = new FrameDecoder(s.protocol_version);
        const frames: SmuxFrame[] = [];
        for (const c of randomChunks(stream, rnd, max)) frames.push(...d.decode(c));
        t.equal(frames.length, vs.length, `${dir}: chunks ≤ ${max}: frame count`);
        t.equal(
          sha256(Buffer.concat(frames.map((f) => encodeFrame(f)))),
          s.byte_streams[dir].sha256,
          `${dir}: chunks ≤ ${max}: re-encoded stream sha256`,
        );
      }
    }
  });
}

t.test('frame data views stay valid: input chunks are never written into', async (t) => {
  const input = Buffer.concat([
    encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 3, data: Buffer.from('abc') }),
    encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 3, data: Buffer.from('defg') }),
  ]);
  const copy = Buffer.from(input);
  const d = new FrameDecoder(1);
  const frames = [
    ...d.decode(input.subarray(0, 5)),
    ...d.decode(input.subarray(5, 13)),
    ...d.decode(input.subarray(13)),
  ];
  t.same(
    frames.map((f) => f.data.toString()),
    ['abc', 'defg'],
  );
  t.ok(input.equals(copy), 'input unchanged');
});

t.test('header codec agrees with the naive oracle on edge values', async (t) => {
  const table = [
    { version: 1, cmd: Cmd.PSH, length: 0xffff, streamId: 0xffffffff },
    { version: 2, cmd: Cmd.UPD, length: 8, streamId: 0 },
    { version: 1, cmd: Cmd.SYN, length: 0, streamId: 0x80000001 },
    { version: 255, cmd: 255 as Cmd, length: 0x0100, streamId: 0x01020304 },
  ];
  for (const h of table) {
    const b = encodeHeader(h);
    t.same(naiveHeader(b), h, `oracle reads ${JSON.stringify(h)}`);
    t.same(decodeHeader(b), h, `decodeHeader reads ${JSON.stringify(h)}`);
  }
  t.same(decodeUpd(encodeUpd({ consumed: 0xffffffff, window: 0 })), { consumed: 0xffffffff, window: 0 });
});

t.test('encoders refuse what the wire cannot carry', async (t) => {
  t.throws(() => encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(65_536) }), {
    code: 'ERR_SMUX_FRAME_TOO_LARGE',
  });
  t.throws(() => encodeHeader({ version: 1, cmd: Cmd.PSH, length: 70_000, streamId: 3 }), {
    code: 'ERR_SMUX_FRAME_TOO_LARGE',
  });
  t.throws(() => encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 2 ** 32, data: Buffer.alloc(1) }), {
    code: 'ERR_SMUX_BAD_LENGTH',
  });
  t.doesNotThrow(() => encodeFrame({ version: 1, cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(65_535) }));
  t.throws(() => decodeUpd(Buffer.alloc(4)), { code: 'ERR_SMUX_BAD_LENGTH' });
  t.throws(() => decodeHeader(Buffer.alloc(7)), { code: 'ERR_SMUX_BAD_LENGTH' });
});

t.test('per-command rules: typed errors with precise codes', async (t) => {
  const cases: Array<[string, string, number, string]> = [
    ['version 2 frame on a version 1 session', '0203000000000000', 1, 'ERR_SMUX_BAD_VERSION'],
    ['version 1 frame on a version 2 session', '0103000000000000', 2, 'ERR_SMUX_BAD_VERSION'],
    ['version 0', '0003000000000000', 1, 'ERR_SMUX_BAD_VERSION'],
    ['cmd 5', '0105000003000000', 1, 'ERR_SMUX_UNKNOWN_COMMAND'],
    ['cmd 255', '01ff000003000000', 1, 'ERR_SMUX_UNKNOWN_COMMAND'],
    ['NOP with a length', '010301000000000000', 1, 'ERR_SMUX_BAD_LENGTH'],
    ['SYN with a length', '01000100030000007a', 1, 'ERR_SMUX_BAD_LENGTH'],
    ['FIN with a length', '01010100030000007a', 1, 'ERR_SMUX_BAD_LENGTH'],
    ['UPD with 4 bytes', '020404000300000001000000', 2, 'ERR_SMUX_BAD_LENGTH'],
    ['UPD with 9 bytes', '02040900030000000100000000000100ff', 2, 'ERR_SMUX_BAD_LENGTH'],
  ];
  for (const [name, hexText, version, code] of cases) {
    const bytes = Buffer.from(hexText, 'hex');
    const d = new FrameDecoder(version);
    // The error comes as soon as the header is complete, even if data has not arrived.
    d.push(bytes.subarray(0, 8));
    let caught: unknown;
    try {
      d.next();
    } catch (e) {
      caught = e;
    }
    t.ok(isTunnelError(caught, code as 'ERR_SMUX_BAD_LENGTH'), `${name}: ${code}`);
    t.equal((caught as { name?: string }).name, 'ProtocolError', `${name}: a ProtocolError`);
    t.throws(() => d.next(), { code }, `${name}: the error is latched`);
    t.equal(d.bufferedBytes, 0, `${name}: input released`);
    t.throws(() => decodeFrame(bytes, version), { code }, `${name}: decodeFrame agrees`);
  }
  // UPD is parsed in version 1 too (xtaci parses it whatever the version).
  t.same(decodeFrame(Buffer.from('01040800030000000300000000000100', 'hex'), 1).cmd, Cmd.UPD);
  // A zero-length PSH is legal.
  t.equal(decodeFrame(Buffer.from('0102000003000000', 'hex'), 1).data.length, 0);
});
