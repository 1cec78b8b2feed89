/**
 * A deliberately naive, slow ClientMessage decoder written straight from the spec table
 * (docs/protocol.md §W2), sharing no code with `src/protocol`. Tests compare the fast codec
 * with it: if both agree on every vector and every garbage input, a bug would have to be made
 * twice, independently.
 *
 * Returns a plain object (bigints for the 64-bit fields) or the name of the rule that failed.
 */
import { createHash } from 'node:crypto';

export interface ReferenceMessage {
  headerLength: number;
  messageType: string;
  schemaVersion: number;
  createdDate: bigint;
  sequenceNumber: bigint;
  flags: bigint;
  messageId: string;
  payloadDigestHex: string;
  payloadType: number;
  payloadLength: number;
  payloadHex: string;
}

export type ReferenceResult = { ok: true; msg: ReferenceMessage } | { ok: false; code: string };

const KNOWN = [
  'input_stream_data',
  'output_stream_data',
  'acknowledge',
  'channel_closed',
  'start_publication',
  'pause_publication',
  'agent_session_state',
];

export function referenceDecode(bytes: Uint8Array): ReferenceResult {
  if (bytes.length < 120) return { ok: false, code: 'ERR_SSM_SHORT_MESSAGE' };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = dv.getUint32(0, false);
  if (headerLength !== 116) return { ok: false, code: 'ERR_SSM_BAD_HEADER_LENGTH' };

  // MessageType: 32 bytes; strip NULs at both ends, then whitespace.
  let typeChars: number[] = [];
  for (let i = 4; i < 36; i++) typeChars.push(dv.getUint8(i));
  while (typeChars.length > 0 && typeChars[0] === 0) typeChars = typeChars.slice(1);
  while (typeChars.length > 0 && typeChars[typeChars.length - 1] === 0) typeChars = typeChars.slice(0, -1);
  const messageType = String.fromCharCode(...typeChars).trim();
  if (!KNOWN.includes(messageType)) return { ok: false, code: 'ERR_SSM_UNKNOWN_MESSAGE_TYPE' };

  const schemaVersion = dv.getUint32(36, false);
  const createdDate = dv.getBigUint64(40, false);
  const sequenceNumber = dv.getBigInt64(48, false);
  const flags = dv.getBigUint64(56, false);
  const limit = 9007199254740991n;
  if (createdDate > limit || flags > limit || sequenceNumber > limit || sequenceNumber < -limit) {
    return { ok: false, code: 'ERR_SSM_UNSAFE_INTEGER' };
  }

  // MessageId: wire bytes 64..71 are UUID bytes 8..15, wire 72..79 are UUID bytes 0..7.
  const uuid: number[] = [];
  for (let i = 72; i < 80; i++) uuid.push(dv.getUint8(i));
  for (let i = 64; i < 72; i++) uuid.push(dv.getUint8(i));
  const h = uuid.map((b) => b.toString(16).padStart(2, '0')).join('');
  const messageId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

  let payloadDigestHex = '';
  for (let i = 80; i < 112; i++) payloadDigestHex += dv.getUint8(i).toString(16).padStart(2, '0');
  const payloadType = dv.getUint32(112, false);
  const payloadLength = dv.getUint32(116, false);
  let payloadHex = '';
  for (let i = 120; i < bytes.length; i++) payloadHex += dv.getUint8(i).toString(16).padStart(2, '0');
  if (payloadLength !== bytes.length - 120) return { ok: false, code: 'ERR_SSM_LENGTH_MISMATCH' };

  const msg: ReferenceMessage = {
    headerLength,
    messageType,
    schemaVersion,
    createdDate,
    sequenceNumber,
    flags,
    messageId,
    payloadDigestHex,
    payloadType,
    payloadLength,
    payloadHex,
  };
  if (messageType === 'start_publication' || messageType === 'pause_publication') return { ok: true, msg };
  if (createdDate === 0n) return { ok: false, code: 'ERR_SSM_BAD_FIELD' };
  if (payloadType > 12) return { ok: false, code: 'ERR_SSM_UNKNOWN_PAYLOAD_TYPE' };
  if (payloadLength !== 0) {
    const actual = createHash('sha256').update(Buffer.from(payloadHex, 'hex')).digest('hex');
    if (actual !== payloadDigestHex) return { ok: false, code: 'ERR_SSM_DIGEST_MISMATCH' };
  }
  return { ok: true, msg };
}
