/**
 * Small byte helpers shared by the codecs in `protocol/`. Pure: no I/O, no timers.
 *
 * 64-bit wire integers are read as `bigint` and only turned into `number` after an explicit
 * safe-integer check (the ws `getPayloadLength64` habit), so a hostile frame can never make us
 * compute with silently rounded values.
 */
import { ProtocolError } from '../errors.js';

const TWO_32 = 2 ** 32;
/** The high 32-bit word of 2^53 - 1: a safe value's high word is at most this. */
const MAX_SAFE_HIGH = 0x1fffff;

// PERF: these run several times per message; two 32-bit reads avoid a BigInt per field. The
// BigInt path is taken only to word the error for a value out of range.

/** Reads an unsigned 64-bit big-endian integer; throws ERR_SSM_UNSAFE_INTEGER above 2^53 - 1. */
export function readU64AsSafeNumber(buf: Buffer, offset: number, field: string): number {
  const hi = buf.readUInt32BE(offset);
  if (hi > MAX_SAFE_HIGH) throw unsafe(field, buf.readBigUInt64BE(offset));
  return hi * TWO_32 + buf.readUInt32BE(offset + 4);
}

/** Reads a signed 64-bit big-endian integer; throws ERR_SSM_UNSAFE_INTEGER outside ±(2^53 - 1). */
export function readI64AsSafeNumber(buf: Buffer, offset: number, field: string): number {
  const hi = buf.readInt32BE(offset);
  const lo = buf.readUInt32BE(offset + 4);
  // -(2^53 - 1) is hi = -0x200000, lo = 1; -2^53 (hi -0x200000, lo 0) is not safe.
  if (hi > MAX_SAFE_HIGH || hi < -MAX_SAFE_HIGH - 1 || (hi === -MAX_SAFE_HIGH - 1 && lo === 0)) {
    throw unsafe(field, buf.readBigInt64BE(offset));
  }
  return hi * TWO_32 + lo;
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
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** Writes `value` (a safe integer) as a signed 64-bit big-endian integer. */
export function writeI64(buf: Buffer, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value)) throw badField(field, `must be a safe integer, got ${value}`);
  if (value < 0) buf.writeBigInt64BE(BigInt(value), offset);
  else {
    buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
    buf.writeUInt32BE(value >>> 0, offset + 4);
  }
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
  while (start < end && buf[start] === 0) start++;
  while (end > start && buf[end - 1] === 0) end--;
  return buf.toString('latin1', start, end).trim();
}

/** Hex digit values by UTF-16 code unit (-1: not a hex digit); every code unit is an index. */
const HEX_VALUE: Int8Array = (() => {
  const t = new Int8Array(0x10000).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** True for a canonical 8-4-4-4-12 hex UUID string (any version, either case). */
export function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const ch = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (ch !== 0x2d) return false;
    } else if ((HEX_VALUE[ch] as number) < 0) return false;
  }
  return true;
}

/** The 16 RFC 4122 bytes of a canonical UUID string. */
export function uuidToBytes(uuid: string, field = 'MessageId'): Buffer {
  if (!isUuid(uuid)) throw badField(field, `is not a canonical UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

/**
 * Writes the 16 bytes of a canonical UUID string at `offset`, with its two 8-byte halves
 * swapped when `swapHalves` (the MessageId wire order). PERF: two of these per message; the
 * 8-4-4-4-12 form is checked in the same pass that writes (no regular expression, no
 * substrings), so on a bad string the field may be partly written before the error is thrown.
 */
export function writeUuid(buf: Buffer, offset: number, uuid: string, swapHalves: boolean, field = 'MessageId'): void {
  let bad =
    uuid.length !== 36 ||
    uuid.charCodeAt(8) !== 0x2d ||
    uuid.charCodeAt(13) !== 0x2d ||
    uuid.charCodeAt(18) !== 0x2d ||
    uuid.charCodeAt(23) !== 0x2d;
  const first = swapHalves ? offset + 8 : offset; // where bytes 0..7 go
  const second = swapHalves ? offset : offset + 8; // where bytes 8..15 go
  let c = 0;
  for (let i = 0; i < 16 && !bad; i++) {
    if (c === 8 || c === 13 || c === 18 || c === 23) c++;
    const hi = HEX_VALUE[uuid.charCodeAt(c)] as number;
    const lo = HEX_VALUE[uuid.charCodeAt(c + 1)] as number;
    c += 2;
    if ((hi | lo) < 0) bad = true;
    else buf[i < 8 ? first + i : second + i - 8] = (hi << 4) | lo;
  }
  if (bad) throw badField(field, `is not a canonical UUID: ${JSON.stringify(uuid)}`);
}

/** Formats 16 bytes (from `offset`) as a lowercase canonical UUID string. */
export function bytesToUuid(buf: Buffer, offset = 0): string {
  const h = buf.toString('hex', offset, offset + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A ProtocolError for a field with an invalid value. */
export function badField(
  field: string,
  what: string,
  code: ProtocolError['code'] = 'ERR_SSM_BAD_FIELD',
): ProtocolError {
  return new ProtocolError(code, `${field} ${what}`, { details: { field } });
}

/** Lowercase hex of a buffer (for logs and tests). */
export function toHex(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('hex');
}
