/**
 * Small byte helpers shared by the codecs in `protocol/`. Pure: no I/O, no timers.
 *
 * 64-bit wire integers are read as `bigint` and only turned into `number` after an explicit
 * safe-integer check (the ws `getPayloadLength64` habit), so a hostile frame can never make us
 * compute with silently rounded values.
 */
import { ProtocolError, type ErrorCode } from '../errors.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** Reads an unsigned 64-bit big-endian integer; throws ERR_SSM_UNSAFE_INTEGER above 2^53 - 1. */
export function readU64AsSafeNumber(buf: Buffer, offset: number, field: string): number {
  const v = buf.readBigUInt64BE(offset);
  if (v > MAX_SAFE) throw unsafe(field, v);
  return Number(v);
}

/** Reads a signed 64-bit big-endian integer; throws ERR_SSM_UNSAFE_INTEGER outside ±(2^53 - 1). */
export function readI64AsSafeNumber(buf: Buffer, offset: number, field: string): number {
  const v = buf.readBigInt64BE(offset);
  if (v > MAX_SAFE || v < MIN_SAFE) throw unsafe(field, v);
  return Number(v);
}

function unsafe(field: string, v: bigint): ProtocolError {
  return new ProtocolError('ERR_SSM_UNSAFE_INTEGER', `${field} ${v} is beyond the safe integer range`, {
    details: { field },
  });
}

/** Writes `value` (a safe, non-negative integer) as an unsigned 64-bit big-endian integer. */
export function writeU64(buf: Buffer, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw badField(field, `must be a non-negative safe integer, got ${value}`);
  buf.writeBigUInt64BE(BigInt(value), offset);
}

/** Writes `value` (a safe integer) as a signed 64-bit big-endian integer. */
export function writeI64(buf: Buffer, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value)) throw badField(field, `must be a safe integer, got ${value}`);
  buf.writeBigInt64BE(BigInt(value), offset);
}

/** Writes a uint32 after checking its range. */
export function writeU32(buf: Buffer, offset: number, value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw badField(field, `must be a uint32, got ${value}`);
  buf.writeUInt32BE(value, offset);
}

/**
 * Writes `text` as ASCII into `size` bytes starting at `offset`, right-padded with `pad`
 * (0x20 for MessageType). Every byte of the field is written.
 */
export function writeFixedAscii(
  buf: Buffer,
  offset: number,
  size: number,
  text: string,
  field: string,
  pad = 0x20,
): void {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x21-\x7e]*$/.test(text)) throw badField(field, 'must be printable ASCII without spaces');
  if (text.length > size) throw badField(field, `is longer than ${size} bytes`);
  buf.fill(pad, offset, offset + size);
  buf.write(text, offset, 'latin1');
}

/**
 * Reads a fixed-size ASCII field the way both upstream parsers do: strip NUL bytes from both
 * ends, then whitespace. Returns '' for an all-padding field.
 */
export function readFixedAscii(buf: Buffer, offset: number, size: number): string {
  let start = offset;
  let end = offset + size;
  while (start < end && buf.readUInt8(start) === 0) start++;
  while (end > start && buf.readUInt8(end - 1) === 0) end--;
  return buf.toString('latin1', start, end).trim();
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical 8-4-4-4-12 hex UUID string (any version). */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** The 16 RFC 4122 bytes of a canonical UUID string. */
export function uuidToBytes(uuid: string, field = 'MessageId'): Buffer {
  if (!isUuid(uuid)) throw badField(field, `is not a canonical UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/** Formats 16 bytes (from `offset`) as a lowercase canonical UUID string. */
export function bytesToUuid(buf: Buffer, offset = 0): string {
  const h = buf.toString('hex', offset, offset + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A ProtocolError for a field with an invalid value. */
export function badField(field: string, what: string, code: ErrorCode = 'ERR_SSM_BAD_FIELD'): ProtocolError {
  return new ProtocolError(code, `${field} ${what}`, { details: { field } });
}

/** Lowercase hex of a buffer (for logs and tests). */
export function toHex(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('hex');
}
