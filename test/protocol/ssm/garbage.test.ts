import t from 'tap';
import {
  ClientMessageStreamDecoder,
  acknowledgedSequenceNumber,
  decodeAcknowledge,
  decodeChannelClosed,
  decodeClientMessage,
  decodeFlag,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
} from '../../../src/protocol/ssm/index.js';
import { ERROR_CODES, TunnelError } from '../../../src/errors.js';
import { randInt, randomBytesFrom, seededRandom } from '../../helpers/hex.js';
import { referenceDecode } from '../../helpers/reference-decoder.js';
import { loadVectors } from './load-vectors.js';

const SSM_CODES = new Set<string>(ERROR_CODES.filter((c) => c.startsWith('ERR_SSM_')));
const seeds = loadVectors()
  .vectors.filter((v) => v.websocket_frame === 'binary')
  .map((v) => Buffer.from(v.hex, 'hex'));

/** Decode, and check the outcome is a message or a typed ERR_SSM_* error that the reference decoder agrees with. */
function check(frame: Buffer): string | undefined {
  let code: string;
  try {
    const m = decodeClientMessage(frame);
    const ref = referenceDecode(frame);
    if (!ref.ok) return `fast accepted, reference rejected with ${ref.code}`;
    if (
      ref.msg.messageId !== m.messageId ||
      ref.msg.payloadHex !== m.payload.toString('hex') ||
      BigInt(m.sequenceNumber) !== ref.msg.sequenceNumber
    ) {
      return 'fast and reference decoders disagree on fields';
    }
    return undefined;
  } catch (e) {
    if (!(e instanceof TunnelError) || !SSM_CODES.has(e.code)) return `untyped error: ${String(e)}`;
    code = e.code;
  }
  const ref = referenceDecode(frame);
  if (ref.ok) return `fast rejected (${code}), reference accepted`;
  if (ref.code !== code) return `fast ${code}, reference ${ref.code}`;
  return undefined;
}

function mutate(rnd: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  switch (randInt(rnd, 6)) {
    case 0: // flip random bytes
      for (let i = 0, n = 1 + randInt(rnd, 4); i < n; i++) b[randInt(rnd, b.length)] = randInt(rnd, 256);
      return b;
    case 1: // truncate
      return b.subarray(0, randInt(rnd, b.length));
    case 2: // extend with junk
      return Buffer.concat([b, randomBytesFrom(rnd, 1 + randInt(rnd, 16))]);
    case 3: // hit a header field specifically
      {
        const offsets = [0, 4, 36, 40, 44, 48, 52, 56, 60, 112, 116];
        const o = offsets[randInt(rnd, offsets.length)] ?? 0;
        if (o + 4 <= b.length) b.writeUInt32BE((rnd() * 2 ** 32) >>> 0, o);
      }
      return b;
    case 4: // set the PayloadLength to the true length after corrupting payload (digest failures)
      if (b.length > 120) {
        const i = 120 + randInt(rnd, b.length - 120);
        b[i] = (b[i] ?? 0) ^ 0xff;
      }
      return b;
    default: // high bits in a 64-bit field
      if (b.length >= 64) b[[40, 48, 56][randInt(rnd, 3)] ?? 40] = 0x80 | randInt(rnd, 128);
      return b;
  }
}

t.test('100,000 seeded random and mutated frames: only typed errors, and the reference decoder agrees', async (t) => {
  const rnd = seededRandom(0x55aa);
  const problems: string[] = [];
  const codes = new Map<string, number>();
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    let frame: Buffer;
    if (i % 4 === 0) {
      frame = randomBytesFrom(rnd, randInt(rnd, 260));
      if (i % 8 === 0 && frame.length >= 4) frame.writeUInt32BE(116, 0); // get past the first check sometimes
    } else {
      frame = mutate(rnd, seeds[randInt(rnd, seeds.length)] ?? Buffer.alloc(0));
    }
    const p = check(frame);
    if (p !== undefined && problems.length < 10) problems.push(`#${i} ${frame.toString('hex').slice(0, 80)}: ${p}`);
    try {
      decodeClientMessage(frame);
      codes.set('accepted', (codes.get('accepted') ?? 0) + 1);
    } catch (e) {
      const c = e instanceof TunnelError ? e.code : 'untyped';
      codes.set(c, (codes.get(c) ?? 0) + 1);
    }
  }
  t.same(problems, [], 'no untyped errors, no disagreement');
  // The corpus must actually reach the deeper rules, or the test proves little.
  for (const c of [
    'accepted',
    'ERR_SSM_SHORT_MESSAGE',
    'ERR_SSM_BAD_HEADER_LENGTH',
    'ERR_SSM_UNKNOWN_MESSAGE_TYPE',
    'ERR_SSM_UNSAFE_INTEGER',
    'ERR_SSM_LENGTH_MISMATCH',
    'ERR_SSM_DIGEST_MISMATCH',
    'ERR_SSM_BAD_FIELD',
    'ERR_SSM_UNKNOWN_PAYLOAD_TYPE',
  ]) {
    t.ok((codes.get(c) ?? 0) > 0, `corpus reaches ${c} (${codes.get(c) ?? 0})`);
  }
});

t.test(
  'the stream decoder on garbage and on corrupted valid streams: typed errors, bounded memory, no hang',
  async (t) => {
    const rnd = seededRandom(7);
    const valid = seeds.filter((f) => {
      try {
        decodeClientMessage(f);
        return true;
      } catch {
        return false;
      }
    });
    let typed = 0;
    let clean = 0;
    let maxBuffered = 0;
    const bad: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const dec = new ClientMessageStreamDecoder({ maxPayloadBytes: 4096 });
      // Half pure noise, half a run of valid frames with (sometimes) one corrupted byte.
      let stream: Buffer;
      let corrupted = true;
      if (i % 2 === 0) {
        stream = randomBytesFrom(rnd, randInt(rnd, 4000));
      } else {
        stream = Buffer.concat(
          Array.from({ length: 1 + randInt(rnd, 6) }, () => valid[randInt(rnd, valid.length)] ?? Buffer.alloc(0)),
        );
        corrupted = rnd() < 0.5;
        if (corrupted) {
          const k = randInt(rnd, stream.length);
          stream[k] = (stream[k] ?? 0) ^ (1 + randInt(rnd, 255));
        }
      }
      let got = 0;
      try {
        for (let off = 0; off < stream.length;) {
          const n = 1 + randInt(rnd, 300);
          for (const m of dec.push(stream.subarray(off, off + n))) got += m.payload.length >= 0 ? 1 : 0;
          off += n;
          maxBuffered = Math.max(maxBuffered, dec.bufferedBytes);
        }
        if (!corrupted) {
          clean++;
          if (dec.bufferedBytes !== 0 || got === 0)
            bad.push(`#${i}: clean stream left ${dec.bufferedBytes} bytes, ${got} messages`);
        }
      } catch (e) {
        if (e instanceof TunnelError && SSM_CODES.has(e.code)) typed++;
        else bad.push(`#${i} untyped: ${String(e)}`);
        if (!corrupted) bad.push(`#${i}: a clean stream was rejected: ${String(e)}`);
      }
    }
    t.same(bad.slice(0, 5), []);
    t.ok(typed > 500, `${typed} streams rejected with typed errors`);
    t.ok(clean > 300, `${clean} clean streams decoded completely`);
    t.ok(maxBuffered <= 120 + 4096 + 300, `buffer stays bounded (max ${maxBuffered} bytes)`);
  },
);

t.test('payload decoders on garbage: only ERR_SSM_BAD_JSON / ERR_SSM_BAD_FLAG', async (t) => {
  const rnd = seededRandom(99);
  const decoders = [
    decodeAcknowledge,
    decodeChannelClosed,
    decodeHandshakeComplete,
    decodeHandshakeRequest,
    decodeHandshakeResponse,
    decodeFlag,
    (b: Buffer) => decodeOpenDataChannel(b),
  ];
  const fragments = [
    '{',
    '}',
    '"',
    ':',
    ',',
    '[',
    ']',
    'null',
    '1',
    '"AgentVersion"',
    '"RequestedClientActions"',
    '"ActionType"',
    '"Output"',
    '"ClientVersion"',
    '"ProcessedClientActions"',
    '"AcknowledgedMessageSequenceNumber"',
    'true',
    '1e400',
    '"x"',
  ];
  const bad: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const text =
      i % 2 === 0
        ? Array.from({ length: randInt(rnd, 12) }, () => fragments[randInt(rnd, fragments.length)]).join('')
        : randomBytesFrom(rnd, randInt(rnd, 16)).toString('latin1');
    for (const d of decoders) {
      try {
        d(Buffer.from(text, 'latin1'));
      } catch (e) {
        if (!(e instanceof TunnelError) || (e.code !== 'ERR_SSM_BAD_JSON' && e.code !== 'ERR_SSM_BAD_FLAG')) {
          if (bad.length < 5) bad.push(`${JSON.stringify(text)}: ${String(e)}`);
        }
      }
    }
  }
  t.same(bad, []);
});

t.test('acknowledgedSequenceNumber on mutated acks: the same verdict as decodeAcknowledge', async (t) => {
  const rnd = seededRandom(1717);
  const canonical = (seq: number): string =>
    `{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"6ba7b814-9dad-41d1-80b4-00c04fd430c8","AcknowledgedMessageSequenceNumber":${seq},"IsSequentialMessage":true}`;
  const alphabet = Buffer.from('0123456789-+.eE"\\{}[]:, \ttruefalsnul\u0000\u00c3\u00a9', 'latin1');
  const verdict = (f: () => number): string => {
    try {
      return `ok ${f()}`;
    } catch (e) {
      return e instanceof TunnelError ? `throws ${e.code}` : `untyped ${String(e)}`;
    }
  };
  const bad: string[] = [];
  let fast = 0;
  for (let i = 0; i < 20_000; i++) {
    const p = Buffer.from(
      canonical(randInt(rnd, 4) === 0 ? randInt(rnd, 2 ** 30) * 2 ** 20 : randInt(rnd, 1e6)),
      'latin1',
    );
    let b: Buffer = p;
    for (let k = randInt(rnd, 4); k > 0; k--) {
      const at = randInt(rnd, b.length + 1);
      const c = alphabet.subarray(randInt(rnd, alphabet.length)).subarray(0, 1);
      switch (randInt(rnd, 4)) {
        case 0:
          b = Buffer.concat([b.subarray(0, at), c, b.subarray(at + 1)]); // replace
          break;
        case 1:
          b = Buffer.concat([b.subarray(0, at), c, b.subarray(at)]); // insert
          break;
        case 2:
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]); // delete
          break;
        default:
          b = b.subarray(0, at); // truncate
      }
    }
    const want = verdict(() => decodeAcknowledge(b).acknowledgedMessageSequenceNumber);
    const got = verdict(() => acknowledgedSequenceNumber(b));
    if (got !== want && bad.length < 5)
      bad.push(`${JSON.stringify(b.toString('latin1'))}: ${got}, full decoder ${want}`);
    if (want.startsWith('ok')) fast++;
  }
  t.same(bad, []);
  t.ok(fast > 2000, `${fast} of the inputs were valid acks`);
});
