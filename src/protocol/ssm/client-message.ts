/**
 * ClientMessage (the agent calls it AgentMessage): the record carried by every binary
 * WebSocket frame of the data channel, in both directions. All integers big-endian.
 *
 * ```
 *  offset size field            encoding
 *  ------ ---- ---------------- ------------------------------------------------------------
 *       0    4 HeaderLength     uint32, always 116 (= offset of PayloadLength)
 *       4   32 MessageType      ASCII, right-padded with spaces (readers strip NULs + spaces)
 *      36    4 SchemaVersion    uint32, 1
 *      40    8 CreatedDate      uint64, Unix epoch milliseconds, never 0
 *      48    8 SequenceNumber   int64 (signed); 0 for unsequenced messages
 *      56    8 Flags            uint64; 0 data, 1 agent's first message, 3 acknowledge
 *      64   16 MessageId        UUID with its two 8-byte halves swapped (bytes 8..15, 0..7)
 *      80   32 PayloadDigest    SHA-256 of the payload bytes
 *     112    4 PayloadType      uint32 (see PayloadType); 0 for acks and MGS messages
 *     116    4 PayloadLength    uint32
 *     120    n Payload          everything from HeaderLength + 4 to the end of the frame
 * ```
 *
 * Source: docs/protocol.md §W2 (session-manager-plugin 1.2.677.0 `src/message/messageparser.go`,
 * amazon-ssm-agent 3.3.1142.0 `agent/session/contracts/agentmessage.go`), checked against every
 * binary vector in `test/protocol/ssm/vectors/ssm-messages.json`.
 */
import { hash } from 'node:crypto';
import { ProtocolError } from '../../errors.js';
import {
  badField,
  readFixedAscii,
  readI64AsSafeNumber,
  readU64AsSafeNumber,
  writeFixedAscii,
  writeI64,
  writeU32,
  writeU64,
  writeUuid,
} from '../bytes.js';
import { MAX_PAYLOAD_TYPE, MessageType, isKnownMessageType } from './message-type.js';

export const HEADER_LENGTH_OFFSET = 0;
export const HEADER_LENGTH_SIZE = 4;
export const MESSAGE_TYPE_OFFSET = HEADER_LENGTH_OFFSET + HEADER_LENGTH_SIZE; // 4
export const MESSAGE_TYPE_SIZE = 32;
export const SCHEMA_VERSION_OFFSET = MESSAGE_TYPE_OFFSET + MESSAGE_TYPE_SIZE; // 36
export const SCHEMA_VERSION_SIZE = 4;
export const CREATED_DATE_OFFSET = SCHEMA_VERSION_OFFSET + SCHEMA_VERSION_SIZE; // 40
export const CREATED_DATE_SIZE = 8;
export const SEQUENCE_NUMBER_OFFSET = CREATED_DATE_OFFSET + CREATED_DATE_SIZE; // 48
export const SEQUENCE_NUMBER_SIZE = 8;
export const FLAGS_OFFSET = SEQUENCE_NUMBER_OFFSET + SEQUENCE_NUMBER_SIZE; // 56
export const FLAGS_SIZE = 8;
export const MESSAGE_ID_OFFSET = FLAGS_OFFSET + FLAGS_SIZE; // 64
export const MESSAGE_ID_SIZE = 16;
export const PAYLOAD_DIGEST_OFFSET = MESSAGE_ID_OFFSET + MESSAGE_ID_SIZE; // 80
export const PAYLOAD_DIGEST_SIZE = 32;
export const PAYLOAD_TYPE_OFFSET = PAYLOAD_DIGEST_OFFSET + PAYLOAD_DIGEST_SIZE; // 112
export const PAYLOAD_TYPE_SIZE = 4;
export const PAYLOAD_LENGTH_OFFSET = PAYLOAD_TYPE_OFFSET + PAYLOAD_TYPE_SIZE; // 116
export const PAYLOAD_LENGTH_SIZE = 4;
/** The value every writer puts in HeaderLength: the offset of PayloadLength. */
export const HEADER_LENGTH = PAYLOAD_LENGTH_OFFSET; // 116
/** Where the payload starts, and the minimum frame size. */
export const PAYLOAD_OFFSET = PAYLOAD_LENGTH_OFFSET + PAYLOAD_LENGTH_SIZE; // 120
export const SCHEMA_VERSION = 1;

/**
 * A decoded data-channel message.
 *
 * `payload` is a view into the decoded frame (no copy): it stays valid as long as the frame's
 * bytes are not modified, and nothing in `tunnel` writes into a received frame.
 */
export interface ClientMessage {
  headerLength: number;
  messageType: string;
  schemaVersion: number;
  /** Unix epoch milliseconds. */
  createdDate: number;
  sequenceNumber: number;
  flags: number;
  /** Canonical (un-swapped) lowercase UUID. */
  messageId: string;
  payloadDigest: Buffer;
  payloadType: number;
  payloadLength: number;
  payload: Buffer;
}

/**
 * What `encodeClientMessage` needs. The optional fields are computed when absent. `messageId`
 * may also be given as the UUID's 16 bytes in canonical order (what `randomMessageId` in
 * src/session/ produces without formatting a string).
 */
export type ClientMessageInit = Omit<
  ClientMessage,
  'headerLength' | 'payloadDigest' | 'payloadLength' | 'schemaVersion' | 'messageId'
> &
  Partial<Pick<ClientMessage, 'headerLength' | 'payloadDigest' | 'payloadLength' | 'schemaVersion'>> & {
    messageId: string | Uint8Array;
  };

export interface DecodeOptions {
  /**
   * Whose validation rules to apply (default 'client'): the agent does not check digests and
   * does not exempt start/pause_publication. See `validateIncoming`.
   */
  side?: ReceiverSide;
  /**
   * Check the SHA-256 payload digest (default true). The upstream client checks it whenever
   * PayloadLength ≠ 0; the upstream agent never does.
   */
  verifyDigest?: boolean;
  /**
   * Reject a frame whose PayloadLength field disagrees with the bytes after offset 120
   * (default true). Upstream ignores the field; we never emit such frames, so we reject them.
   */
  strictPayloadLength?: boolean;
}

/** The known MessageTypes, already space-padded to 32 bytes (PERF: one copy per message). */
const PADDED_TYPES: ReadonlyMap<string, Buffer> = new Map(
  Object.values(MessageType).map((name) => {
    const b = Buffer.alloc(MESSAGE_TYPE_SIZE);
    writeFixedAscii(b, 0, MESSAGE_TYPE_SIZE, name, 'MessageType');
    return [name, b];
  }),
);

/** The types nearly every frame carries, in the order they are tried. */
const COMMON_TYPES: ReadonlyArray<readonly [string, Buffer]> = [
  MessageType.OutputStreamData,
  MessageType.InputStreamData,
  MessageType.Acknowledge,
].map((name) => [name, PADDED_TYPES.get(name) as Buffer] as const);

/**
 * The MessageType of `frame` (at least 36 bytes), read as `readFixedAscii` does. PERF: one per
 * frame; a space-padded stream or acknowledge type (what every writer sends) is recognised byte
 * by byte and returned as the constant string, without a new string per frame.
 */
export function messageTypeAt(frame: Buffer): string {
  for (const [name, padded] of COMMON_TYPES) {
    let i = 0;
    while (i < MESSAGE_TYPE_SIZE && frame[MESSAGE_TYPE_OFFSET + i] === padded[i]) i++;
    if (i === MESSAGE_TYPE_SIZE) return name;
  }
  return readFixedAscii(frame, MESSAGE_TYPE_OFFSET, MESSAGE_TYPE_SIZE);
}

/** SHA-256 of `payload`. */
export function payloadDigestOf(payload: Uint8Array): Buffer {
  return Buffer.from(digestLatin1(payload), 'latin1');
}

/**
 * SHA-256 of `payload` as a 32-character latin1 string (one char per byte). PERF: this runs
 * once per message sent and once per message received; the one-shot hash (Node ≥ 20.12) skips
 * the Hash object, and a string result costs about half of what a Buffer result does to create
 * (1 KiB: 0.8 µs against 1.3 µs; an ack's 150 bytes: 0.3 µs against 0.77 µs).
 */
function digestLatin1(payload: Uint8Array): string {
  return hash('sha256', payload, 'binary'); // 'binary' is Node's name for latin1
}

/** True when the 32 bytes of `digest` are SHA-256(`payload`). */
function digestMatches(payload: Uint8Array, digest: Uint8Array): boolean {
  if (digest.length !== PAYLOAD_DIGEST_SIZE) return false;
  const actual = digestLatin1(payload);
  for (let i = 0; i < PAYLOAD_DIGEST_SIZE; i++) if (actual.charCodeAt(i) !== digest[i]) return false;
  return true;
}

/**
 * Encodes one message. Fills every byte: HeaderLength 116, space-padded MessageType, swapped
 * MessageId halves, SHA-256 digest, payload at offset 120. Refuses an empty payload
 * (ERR_SSM_EMPTY_PAYLOAD): neither upstream peer can produce one and neither should we.
 *
 * The optional `headerLength`, `schemaVersion`, `payloadDigest` and `payloadLength` overrides
 * exist so tests can reproduce deliberately odd vectors; production code leaves them out.
 */
export function encodeClientMessage(m: ClientMessageInit): Buffer {
  const payload = m.payload;
  checkEncodable(m, payload.length);
  const out = Buffer.allocUnsafe(PAYLOAD_OFFSET + payload.length);
  writeHeader(out, m, payload.length, m.payloadDigest === undefined ? digestLatin1(payload) : m.payloadDigest);
  payload.copy(out, PAYLOAD_OFFSET);
  return out;
}

/**
 * `encodeClientMessage` for a payload given as text (its UTF-8 bytes), e.g. an acknowledge's
 * JSON. PERF: one ack is sent per message received; the text is written straight into the
 * frame and hashed as it is, with no payload Buffer in between.
 */
export function encodeClientMessageText(m: Omit<ClientMessageInit, 'payload'>, text: string): Buffer {
  const n = Buffer.byteLength(text, 'utf8');
  checkEncodable(m, n);
  const out = Buffer.allocUnsafe(PAYLOAD_OFFSET + n);
  out.write(text, PAYLOAD_OFFSET, n, 'utf8');
  // A string is hashed as its UTF-8 bytes: the bytes just written.
  writeHeader(out, m, n, m.payloadDigest === undefined ? hash('sha256', text, 'binary') : m.payloadDigest);
  return out;
}

function checkEncodable(m: Pick<ClientMessageInit, 'messageType' | 'createdDate'>, payloadLength: number): void {
  if (payloadLength === 0) {
    throw new ProtocolError('ERR_SSM_EMPTY_PAYLOAD', `refusing to encode ${m.messageType} with an empty payload`);
  }
  if (m.createdDate <= 0) throw badField('CreatedDate', `must be positive (Unix ms), got ${m.createdDate}`);
}

/** Bytes 0..119 of a frame whose payload is `payloadLength` bytes; `digest` as bytes or a latin1 string. */
function writeHeader(
  out: Buffer,
  m: Omit<ClientMessageInit, 'payload'>,
  payloadLength: number,
  digest: Buffer | string,
): void {
  writeU32(out, HEADER_LENGTH_OFFSET, m.headerLength ?? HEADER_LENGTH, 'HeaderLength');
  const paddedType = PADDED_TYPES.get(m.messageType);
  if (paddedType !== undefined) paddedType.copy(out, MESSAGE_TYPE_OFFSET);
  else writeFixedAscii(out, MESSAGE_TYPE_OFFSET, MESSAGE_TYPE_SIZE, m.messageType, 'MessageType');
  writeU32(out, SCHEMA_VERSION_OFFSET, m.schemaVersion ?? SCHEMA_VERSION, 'SchemaVersion');
  writeU64(out, CREATED_DATE_OFFSET, m.createdDate, 'CreatedDate');
  writeI64(out, SEQUENCE_NUMBER_OFFSET, m.sequenceNumber, 'SequenceNumber');
  writeU64(out, FLAGS_OFFSET, m.flags, 'Flags');
  if (typeof m.messageId === 'string') writeMessageId(out, MESSAGE_ID_OFFSET, m.messageId);
  else writeMessageIdBytes(out, MESSAGE_ID_OFFSET, m.messageId);
  if (typeof digest === 'string') {
    // PERF: one hash per message, written straight into the frame.
    out.write(digest, PAYLOAD_DIGEST_OFFSET, PAYLOAD_DIGEST_SIZE, 'latin1');
  } else {
    if (digest.length !== PAYLOAD_DIGEST_SIZE) throw badField('PayloadDigest', 'must be 32 bytes');
    digest.copy(out, PAYLOAD_DIGEST_OFFSET);
  }
  writeU32(out, PAYLOAD_TYPE_OFFSET, m.payloadType, 'PayloadType');
  writeU32(out, PAYLOAD_LENGTH_OFFSET, m.payloadLength ?? payloadLength, 'PayloadLength');
}

/**
 * Writes a canonical UUID in wire order: bytes 8..15 first, then bytes 0..7.
 * (Upstream's comment calls MessageId a 40-byte string; it is 16 raw bytes.)
 */
export function writeMessageId(out: Buffer, offset: number, uuid: string): void {
  writeUuid(out, offset, uuid, true);
}

/** Writes a UUID given as its 16 canonical-order bytes, in wire order (halves swapped). */
export function writeMessageIdBytes(out: Buffer, offset: number, id: Uint8Array): void {
  if (id.length !== MESSAGE_ID_SIZE) throw badField('MessageId', `must be 16 bytes, got ${id.length}`);
  for (let i = 0; i < 8; i++) {
    out[offset + i] = id[8 + i] as number;
    out[offset + 8 + i] = id[i] as number;
  }
}

/** Reads a wire-order MessageId back into a canonical UUID string. */
export function readMessageId(frame: Buffer, offset: number): string {
  // Wire order is UUID bytes 8..15 then 0..7: hex characters 16..31 are the UUID's first half.
  const h = frame.toString('hex', offset, offset + 16);
  return `${h.slice(16, 24)}-${h.slice(24, 28)}-${h.slice(28, 32)}-${h.slice(0, 4)}-${h.slice(4, 16)}`;
}

/**
 * Decodes and validates one frame. Throws a `ProtocolError` with a precise code:
 *
 * - ERR_SSM_SHORT_MESSAGE: fewer than 120 bytes (upstream panics on 116–119; we reject).
 * - ERR_SSM_BAD_HEADER_LENGTH: HeaderLength is not 116.
 * - ERR_SSM_UNKNOWN_MESSAGE_TYPE: empty or unknown MessageType.
 * - ERR_SSM_UNSAFE_INTEGER: CreatedDate, SequenceNumber or Flags beyond 2^53.
 * - ERR_SSM_LENGTH_MISMATCH: PayloadLength ≠ bytes present (unless `strictPayloadLength: false`).
 *
 * Then `validateIncoming(msg, side)`; on the client side, except for start_publication /
 * pause_publication (which upstream exempts from all validation, see the
 * `start_publication_exempt_from_client_validation` vector):
 *
 * - ERR_SSM_BAD_FIELD: CreatedDate 0.
 * - ERR_SSM_UNKNOWN_PAYLOAD_TYPE: PayloadType > 12.
 * - ERR_SSM_DIGEST_MISMATCH: PayloadLength ≠ 0 and SHA-256(payload) ≠ PayloadDigest
 *   (client side only, unless `verifyDigest: false`).
 *
 * The input is never modified. The result is frozen.
 */
export function decodeClientMessage(frame: Buffer, options: DecodeOptions = {}): ClientMessage {
  if (frame.length < PAYLOAD_OFFSET) {
    throw new ProtocolError(
      'ERR_SSM_SHORT_MESSAGE',
      `frame of ${frame.length} bytes is shorter than the ${PAYLOAD_OFFSET}-byte header`,
      {
        details: { length: frame.length },
      },
    );
  }
  const headerLength = frame.readUInt32BE(HEADER_LENGTH_OFFSET);
  if (headerLength !== HEADER_LENGTH) {
    throw new ProtocolError('ERR_SSM_BAD_HEADER_LENGTH', `HeaderLength is ${headerLength}, expected ${HEADER_LENGTH}`, {
      details: { headerLength },
    });
  }
  const messageType = messageTypeAt(frame);
  if (!isKnownMessageType(messageType)) {
    throw new ProtocolError('ERR_SSM_UNKNOWN_MESSAGE_TYPE', `unknown MessageType ${JSON.stringify(messageType)}`, {
      details: { messageType },
    });
  }
  const schemaVersion = frame.readUInt32BE(SCHEMA_VERSION_OFFSET);
  const createdDate = readU64AsSafeNumber(frame, CREATED_DATE_OFFSET, 'CreatedDate');
  const sequenceNumber = readI64AsSafeNumber(frame, SEQUENCE_NUMBER_OFFSET, 'SequenceNumber');
  const flags = readU64AsSafeNumber(frame, FLAGS_OFFSET, 'Flags');
  const messageId = readMessageId(frame, MESSAGE_ID_OFFSET);
  // A view, like the payload: the frame is never written to.
  const payloadDigest = frame.subarray(PAYLOAD_DIGEST_OFFSET, PAYLOAD_DIGEST_OFFSET + PAYLOAD_DIGEST_SIZE);
  const payloadType = frame.readUInt32BE(PAYLOAD_TYPE_OFFSET);
  const payloadLength = frame.readUInt32BE(PAYLOAD_LENGTH_OFFSET);
  // INTEROP: the payload is everything after offset 120; PayloadLength does not cut it.
  const payload = frame.subarray(PAYLOAD_OFFSET);
  if ((options.strictPayloadLength ?? true) && payloadLength !== payload.length) {
    throw new ProtocolError(
      'ERR_SSM_LENGTH_MISMATCH',
      `PayloadLength is ${payloadLength} but ${payload.length} payload bytes follow`,
      {
        details: { payloadLength, actual: payload.length },
      },
    );
  }
  const msg: ClientMessage = Object.freeze({
    headerLength,
    messageType,
    schemaVersion,
    createdDate,
    sequenceNumber,
    flags,
    messageId,
    payloadDigest,
    payloadType,
    payloadLength,
    payload,
  });
  validateIncoming(msg, options.side ?? 'client', options.verifyDigest ?? true);
  return msg;
}

/** Which peer is receiving: the two upstream parsers validate differently. */
export type ReceiverSide = 'client' | 'agent';

/**
 * The semantic checks each upstream receiver applies after parsing (docs/protocol.md §W4,
 * agent §2), with our precise codes:
 *
 * | check                               | client                  | agent |
 * | ----------------------------------- | ----------------------- | ----- |
 * | start/pause_publication exempt      | yes                     | no    |
 * | CreatedDate ≠ 0 (ERR_SSM_BAD_FIELD) | yes                     | yes   |
 * | PayloadType ≤ 12                    | yes (ours)              | yes (ours) |
 * | SHA-256 digest when PayloadLength≠0 | yes                     | no    |
 */
export function validateIncoming(msg: ClientMessage, side: ReceiverSide, verifyDigest = true): void {
  // INTEROP: the upstream client accepts the publication messages before any validation.
  if (
    side === 'client' &&
    (msg.messageType === MessageType.StartPublication || msg.messageType === MessageType.PausePublication)
  )
    return;
  if (msg.createdDate === 0) throw badField('CreatedDate', 'is 0 (missing)');
  if (msg.payloadType > MAX_PAYLOAD_TYPE) {
    throw new ProtocolError('ERR_SSM_UNKNOWN_PAYLOAD_TYPE', `unknown PayloadType ${msg.payloadType}`, {
      details: { payloadType: msg.payloadType },
    });
  }
  if (side === 'client' && verifyDigest && msg.payloadLength !== 0 && !verifyPayloadDigest(msg)) {
    throw new ProtocolError(
      'ERR_SSM_DIGEST_MISMATCH',
      `payload digest mismatch on ${msg.messageType} seq ${msg.sequenceNumber}`,
      {
        details: { messageType: msg.messageType, sequenceNumber: msg.sequenceNumber },
      },
    );
  }
}

/** True when PayloadDigest is the SHA-256 of the payload. */
export function verifyPayloadDigest(msg: Pick<ClientMessage, 'payload' | 'payloadDigest'>): boolean {
  // Not a secret: a plain comparison will do (the digest travels in the clear next to the payload).
  return digestMatches(msg.payload, msg.payloadDigest);
}
