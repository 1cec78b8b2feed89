import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  ClientMessageStreamDecoder,
  HEADER_LENGTH,
  PAYLOAD_LENGTH_OFFSET,
  PAYLOAD_OFFSET,
  MESSAGE_ID_OFFSET,
  PAYLOAD_DIGEST_OFFSET,
  PAYLOAD_TYPE_OFFSET,
  type ClientMessage,
  type ClientMessageInit,
  decodeClientMessage,
  encodeClientMessage,
  encodeClientMessageText,
  messageTypeAt,
  validateIncoming,
  verifyPayloadDigest,
} from '../../../src/protocol/ssm/index.js';
import { isTunnelError } from '../../../src/errors.js';
import { eachSplit, randomChunks, seededRandom } from '../../helpers/hex.js';
import { referenceDecode } from '../../helpers/reference-decoder.js';
import { SHARED_VECTOR_PATH, VECTOR_PATH, type Vector, inNum, inOptStr, inStr, loadVectors } from './load-vectors.js';

const file = loadVectors();
const binary = file.vectors.filter((v) => v.websocket_frame === 'binary');

/** The payload a vector describes: Payload_hex, or (LF and 1024-byte vectors) the bytes after 120. */
function payloadOf(v: Vector): Buffer {
  const ph = inOptStr(v, 'Payload_hex');
  return ph !== undefined ? Buffer.from(ph, 'hex') : Buffer.from(v.hex, 'hex').subarray(PAYLOAD_OFFSET);
}

function initOf(v: Vector): ClientMessageInit {
  const payload = payloadOf(v);
  const digest = Buffer.from(inStr(v, 'PayloadDigest'), 'hex');
  const init: ClientMessageInit = {
    messageType: inStr(v, 'MessageType'),
    createdDate: inNum(v, 'CreatedDate'),
    sequenceNumber: inNum(v, 'SequenceNumber'),
    flags: inNum(v, 'Flags'),
    messageId: inStr(v, 'MessageId'),
    payloadType: inNum(v, 'PayloadType'),
    payload,
  };
  // Only the deliberately odd vectors need overrides; the others must come out of the encoder alone.
  if (inNum(v, 'PayloadLength') !== payload.length) init.payloadLength = inNum(v, 'PayloadLength');
  if (!digest.equals(require256(payload))) init.payloadDigest = digest;
  return init;
}

function require256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

function expectFields(t: Test, m: ClientMessage, v: Vector): void {
  t.equal(m.headerLength, inNum(v, 'HeaderLength'), 'HeaderLength');
  t.equal(m.messageType, inStr(v, 'MessageType'), 'MessageType');
  t.equal(m.schemaVersion, inNum(v, 'SchemaVersion'), 'SchemaVersion');
  t.equal(m.createdDate, inNum(v, 'CreatedDate'), 'CreatedDate');
  t.equal(m.sequenceNumber, inNum(v, 'SequenceNumber'), 'SequenceNumber');
  t.equal(m.flags, inNum(v, 'Flags'), 'Flags');
  t.equal(m.messageId, inStr(v, 'MessageId'), 'MessageId');
  t.equal(m.payloadDigest.toString('hex'), inStr(v, 'PayloadDigest'), 'PayloadDigest');
  t.equal(m.payloadType, inNum(v, 'PayloadType'), 'PayloadType');
  t.equal(m.payloadLength, inNum(v, 'PayloadLength'), 'PayloadLength');
  t.equal(m.payload.toString('hex'), payloadOf(v).toString('hex'), 'Payload');
}

/** What our decoder must do with each binary vector (default, strict options). */
const EXPECTED_ERROR: Record<string, string> = {
  negative_wrong_digest: 'ERR_SSM_DIGEST_MISMATCH',
  negative_created_date_zero: 'ERR_SSM_BAD_FIELD',
  negative_truncated_118_bytes: 'ERR_SSM_SHORT_MESSAGE',
  negative_truncated_100_bytes: 'ERR_SSM_SHORT_MESSAGE',
  // upstream ignores PayloadLength; we reject frames whose PayloadLength lies (decision in docs/protocol.md)
  payload_length_field_ignored: 'ERR_SSM_LENGTH_MISMATCH',
};

t.test('layout constants', async (t) => {
  t.equal(HEADER_LENGTH, 116);
  t.equal(PAYLOAD_LENGTH_OFFSET, 116);
  t.equal(PAYLOAD_OFFSET, 120);
  t.equal(MESSAGE_ID_OFFSET, 64);
  t.equal(PAYLOAD_DIGEST_OFFSET, 80);
  t.equal(PAYLOAD_TYPE_OFFSET, 112);
});

t.test('the vector copy matches the shared file when it is present', async (t) => {
  if (!existsSync(SHARED_VECTOR_PATH)) {
    t.pass('shared vectors not present on this machine; using the committed copy');
    return;
  }
  t.equal(readFileSync(VECTOR_PATH, 'utf8'), readFileSync(SHARED_VECTOR_PATH, 'utf8'));
});

t.test('there are 38 vectors, 31 of them binary', async (t) => {
  t.equal(file.vectors.length, 38);
  t.equal(binary.length, 31);
});

for (const v of binary) {
  t.test(`vector ${v.name}`, async (t) => {
    const bytes = Buffer.from(v.hex, 'hex');
    t.equal(bytes.length, v.length, 'length matches');
    const expectedError = EXPECTED_ERROR[v.name];

    // Decode (strict defaults).
    if (expectedError !== undefined) {
      t.throws(() => decodeClientMessage(bytes), { code: expectedError }, `decode rejects with ${expectedError}`);
    } else {
      const m = decodeClientMessage(bytes);
      expectFields(t, m, v);
      t.ok(Object.isFrozen(m), 'result is frozen');
    }
    // The independent reference decoder agrees.
    const ref = referenceDecode(bytes);
    if (expectedError !== undefined)
      t.same(ref, { ok: false, code: expectedError }, 'reference decoder rejects the same way');
    else t.ok(ref.ok, 'reference decoder accepts');

    if (v.input === undefined || !('MessageType' in v.input)) return; // the truncated frames have no fields

    // Lenient decode (upstream's parser behaviour) still gives every field for the deliberately odd ones.
    if (v.name === 'payload_length_field_ignored')
      expectFields(t, decodeClientMessage(bytes, { strictPayloadLength: false }), v);
    if (v.name === 'negative_wrong_digest') expectFields(t, decodeClientMessage(bytes, { verifyDigest: false }), v);

    // Encode gives the exact bytes (except CreatedDate 0, which we refuse to emit, and NUL padding, which we never write).
    const init = initOf(v);
    if (init.createdDate === 0) {
      t.throws(() => encodeClientMessage(init), { code: 'ERR_SSM_BAD_FIELD' }, 'encoder refuses CreatedDate 0');
      // Every other byte is still what the encoder writes.
      const patched = encodeClientMessage({ ...init, createdDate: 1 });
      patched.writeBigUInt64BE(0n, 40);
      t.equal(patched.toString('hex'), v.hex, 'identical apart from CreatedDate');
      return;
    }
    const encoded = encodeClientMessage(init);
    if (v.name === 'messagetype_nul_padding_accepted') {
      const spaced = Buffer.from(bytes);
      spaced.fill(0x20, 4 + 'acknowledge'.length, 36);
      t.equal(encoded.toString('hex'), spaced.toString('hex'), 'encoder pads with spaces, otherwise identical');
    } else {
      t.equal(encoded.toString('hex'), v.hex, 'encode gives the exact bytes');
    }

    // Round trip: decode(encode(x)) has the same fields.
    if (expectedError === undefined) {
      const again = decodeClientMessage(encoded);
      expectFields(t, again, v);
      // Every split point through the stream decoder gives the same message.
      let splits = 0;
      for (const [a, b] of eachSplit(encoded)) {
        const dec = new ClientMessageStreamDecoder();
        const out = [...dec.push(a), ...dec.push(b)];
        if (out.length !== 1 || out[0]?.messageId !== again.messageId || !out[0].payload.equals(again.payload)) {
          t.fail(`split at ${a.length} gave ${out.length} messages`);
        }
        splits++;
      }
      t.equal(splits, encoded.length + 1, 'every split point decoded');
    }
  });
}

t.test('LF vector: the encoder never rewrites a lone 0x0A into 0x0D', async (t) => {
  const v = file.vectors.find((x) => x.name === 'client_output_single_lf_rewritten_to_cr');
  if (v === undefined) throw new Error('missing vector');
  const init = { ...initOf(v), payload: Buffer.from([0x0a]) };
  delete init.payloadDigest;
  const frame = encodeClientMessage(init);
  t.equal(frame.subarray(PAYLOAD_OFFSET).toString('hex'), '0a', 'payload stays 0a');
  t.not(frame.toString('hex'), v.hex, 'so the bytes differ from upstream');
  t.equal(decodeClientMessage(frame).payload.toString('hex'), '0a');
});

t.test('1024-byte vector has payload byte i = i mod 251', async (t) => {
  const v = file.vectors.find((x) => x.name === 'client_output_1024_bytes');
  if (v === undefined) throw new Error('missing vector');
  const payload = Buffer.alloc(1024);
  for (let i = 0; i < 1024; i++) payload[i] = i % 251;
  t.equal(decodeClientMessage(Buffer.from(v.hex, 'hex')).payload.toString('hex'), payload.toString('hex'));
});

t.test('random multi-chunk feeding of all accepted vectors gives the same messages in order', async (t) => {
  const frames = binary
    .filter((v) => EXPECTED_ERROR[v.name] === undefined && inNum(v, 'CreatedDate') !== 0)
    .map((v) => encodeClientMessage(initOf(v)));
  const expected = frames.map((f) => decodeClientMessage(f));
  const all = Buffer.concat(frames);
  for (let seed = 1; seed <= 50; seed++) {
    const rnd = seededRandom(seed);
    const dec = new ClientMessageStreamDecoder();
    const got: ClientMessage[] = [];
    for (const c of randomChunks(all, rnd, 1 + (seed % 7) * 50)) got.push(...dec.push(c));
    t.equal(got.length, expected.length, `seed ${seed}: count`);
    t.ok(
      got.every(
        (m, i) => m.messageId === expected[i]?.messageId && m.payload.equals(expected[i]?.payload ?? Buffer.alloc(0)),
      ),
      `seed ${seed}: same messages`,
    );
    t.equal(dec.bufferedBytes, 0, `seed ${seed}: nothing left over`);
  }
});

t.test('encoder validation', async (t) => {
  const base: ClientMessageInit = {
    messageType: 'input_stream_data',
    createdDate: 1700000000000,
    sequenceNumber: 0,
    flags: 0,
    messageId: '123e4567-e89b-42d3-a456-426614174000',
    payloadType: 1,
    payload: Buffer.from('x'),
  };
  t.throws(() => encodeClientMessage({ ...base, payload: Buffer.alloc(0) }), { code: 'ERR_SSM_EMPTY_PAYLOAD' });
  t.throws(() => encodeClientMessage({ ...base, messageType: 'x'.repeat(33) }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, messageType: 'has space' }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, messageId: 'not-a-uuid' }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, sequenceNumber: 2 ** 53 }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, flags: -1 }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, createdDate: 0 }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, payloadType: 2 ** 32 }), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessage({ ...base, payloadDigest: Buffer.alloc(31) }), { code: 'ERR_SSM_BAD_FIELD' });
  const m = decodeClientMessage(
    encodeClientMessage({
      ...base,
      sequenceNumber: -5,
      messageType: 'x'.repeat(32).replace(/x+/, 'output_stream_data'),
    }),
  );
  t.equal(m.sequenceNumber, -5, 'negative int64 round-trips');
});

t.test('encodeClientMessageText gives the bytes encodeClientMessage gives for the UTF-8 payload', async (t) => {
  const base = {
    messageType: 'acknowledge',
    createdDate: 1700000000123,
    sequenceNumber: 0,
    flags: 3,
    messageId: '123E4567-e89b-42d3-a456-426614174000',
    payloadType: 0,
  };
  for (const text of [
    '{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"6ba7b814-9dad-41d1-80b4-00c04fd430c8","AcknowledgedMessageSequenceNumber":7,"IsSequentialMessage":true}',
    'x',
    'héllo, wörld ✓ \u{1f600}',
    'a'.repeat(5000),
  ]) {
    const want = encodeClientMessage({ ...base, payload: Buffer.from(text, 'utf8') });
    t.equal(encodeClientMessageText(base, text).toString('hex'), want.toString('hex'), `${text.length} chars`);
    t.ok(verifyPayloadDigest(decodeClientMessage(want)), 'digest checks out');
  }
  t.throws(() => encodeClientMessageText(base, ''), { code: 'ERR_SSM_EMPTY_PAYLOAD' });
  t.throws(() => encodeClientMessageText({ ...base, createdDate: 0 }, 'x'), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => encodeClientMessageText({ ...base, messageId: 'nope' }, 'x'), { code: 'ERR_SSM_BAD_FIELD' });
  const forced = Buffer.alloc(32, 0xab);
  t.same(
    decodeClientMessage(encodeClientMessageText({ ...base, payloadDigest: forced }, 'x'), { verifyDigest: false })
      .payloadDigest,
    forced,
    'a digest override is written as given',
  );
});

t.test('messageTypeAt reads the type as the byte-trimming reader does, for any padding', async (t) => {
  const names = ['output_stream_data', 'input_stream_data', 'acknowledge', 'channel_closed', 'output_stream_dat', ''];
  const pads = [0x20, 0x00];
  for (const name of names) {
    for (const pad of pads) {
      for (const lead of [0, 1]) {
        const frame = Buffer.alloc(40, pad);
        frame.fill(0, 4, 4 + lead);
        frame.write(name, 4 + lead, 'latin1');
        const want = frame
          .toString('latin1', 4, 36)
          .replace(/^\0+|\0+$/g, '')
          .trim();
        t.equal(messageTypeAt(frame), want, `${JSON.stringify(name)} pad ${pad} lead ${lead}`);
      }
    }
  }
  // A known type followed by something other than padding is not that type.
  const f = Buffer.alloc(40, 0x20);
  f.write('acknowledgeX', 4, 'latin1');
  t.equal(messageTypeAt(f), 'acknowledgeX');
});

t.test('decoder: precise codes for each header rule', async (t) => {
  const good = encodeClientMessage({
    messageType: 'output_stream_data',
    createdDate: 1700000000000,
    sequenceNumber: 7,
    flags: 0,
    messageId: '123e4567-e89b-42d3-a456-426614174000',
    payloadType: 1,
    payload: Buffer.from('hello'),
  });
  const mut = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  t.throws(() => decodeClientMessage(good.subarray(0, 119)), { code: 'ERR_SSM_SHORT_MESSAGE' });
  t.throws(() => decodeClientMessage(mut((b) => b.writeUInt32BE(0, 0))), { code: 'ERR_SSM_BAD_HEADER_LENGTH' });
  t.throws(() => decodeClientMessage(mut((b) => b.writeUInt32BE(120, 0))), { code: 'ERR_SSM_BAD_HEADER_LENGTH' });
  t.throws(() => decodeClientMessage(mut((b) => b.fill(0x20, 4, 36))), { code: 'ERR_SSM_UNKNOWN_MESSAGE_TYPE' });
  t.throws(() => decodeClientMessage(mut((b) => b.write('banana', 4, 'latin1'))), {
    code: 'ERR_SSM_UNKNOWN_MESSAGE_TYPE',
  });
  t.throws(() => decodeClientMessage(mut((b) => b.writeBigUInt64BE(2n ** 53n, 40))), {
    code: 'ERR_SSM_UNSAFE_INTEGER',
  });
  t.throws(() => decodeClientMessage(mut((b) => b.writeBigInt64BE(-(2n ** 60n), 48))), {
    code: 'ERR_SSM_UNSAFE_INTEGER',
  });
  t.throws(() => decodeClientMessage(mut((b) => b.writeBigUInt64BE(2n ** 64n - 1n, 56))), {
    code: 'ERR_SSM_UNSAFE_INTEGER',
  });
  t.throws(() => decodeClientMessage(mut((b) => b.writeUInt32BE(13, 112))), { code: 'ERR_SSM_UNKNOWN_PAYLOAD_TYPE' });
  t.throws(() => decodeClientMessage(mut((b) => b.writeUInt32BE(4, 116))), { code: 'ERR_SSM_LENGTH_MISMATCH' });
  t.throws(() => decodeClientMessage(mut((b) => (b[120] = 0x48))), { code: 'ERR_SSM_DIGEST_MISMATCH' });
  t.throws(() => decodeClientMessage(mut((b) => b.writeBigUInt64BE(0n, 40))), { code: 'ERR_SSM_BAD_FIELD' });
  // PayloadLength 0 with nothing after 120 is accepted (digest skipped), as both upstream parsers do.
  const empty = Buffer.from(good.subarray(0, 120));
  empty.writeUInt32BE(0, 116);
  const m = decodeClientMessage(empty);
  t.equal(m.payload.length, 0);
  t.notOk(verifyPayloadDigest(m), 'the digest field is not that of an empty payload');
  const mutated = mut((b) => (b[120] = 0x48));
  const copy = Buffer.from(mutated);
  try {
    decodeClientMessage(mutated);
  } catch (e) {
    t.ok(isTunnelError(e, 'ERR_SSM_DIGEST_MISMATCH'));
  }
  t.ok(copy.equals(mutated), 'the decoder never modifies its input');
});

t.test('stream decoder latches the first error and bounds payloads', async (t) => {
  const dec = new ClientMessageStreamDecoder({ maxPayloadBytes: 100 });
  const head = Buffer.alloc(120);
  head.writeUInt32BE(116, 0);
  head.writeUInt32BE(101, 116);
  t.throws(() => [...dec.push(head)], { code: 'ERR_SSM_LENGTH_MISMATCH' });
  t.throws(() => [...dec.push(Buffer.alloc(1))], { code: 'ERR_SSM_LENGTH_MISMATCH' }, 'latched');
  const dec2 = new ClientMessageStreamDecoder();
  t.throws(() => [...dec2.push(Buffer.alloc(120))], { code: 'ERR_SSM_BAD_HEADER_LENGTH' });
});

t.test("each vector's upstream verdicts: client and agent parsers", async (t) => {
  // Where we are deliberately stricter than both upstream parsers (documented in docs/protocol.md).
  const STRICTER = new Set(['payload_length_field_ignored']);
  for (const v of binary) {
    if (v.expect === undefined) continue;
    const bytes = Buffer.from(v.hex, 'hex');
    for (const side of ['client', 'agent'] as const) {
      const verdict = side === 'client' ? v.expect.client_parser : v.expect.agent_parser;
      let accepted = true;
      try {
        decodeClientMessage(bytes, { side });
      } catch {
        accepted = false;
      }
      const upstreamAccepts = verdict === 'accepted';
      if (STRICTER.has(v.name)) t.notOk(accepted, `${v.name} (${side}): rejected although upstream accepts`);
      else t.equal(accepted, upstreamAccepts, `${v.name} (${side}): ${verdict}`);
    }
  }
  const start = decodeClientMessage(
    Buffer.from(binary.find((v) => v.name === 'mgs_start_publication')?.hex ?? '', 'hex'),
  );
  t.doesNotThrow(() => validateIncoming(start, 'agent'), 'a well-formed start_publication passes the agent checks too');
});
