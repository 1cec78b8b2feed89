/**
 * smux frame codec (xtaci/smux v1.5, protocol versions 1 and 2). Pure functions, no I/O.
 *
 * ```
 *  offset  size  field
 *  0       1     version   (1 or 2; must equal the receiver's configured version)
 *  1       1     cmd       (SYN 0, FIN 1, PSH 2, NOP 3, UPD 4)
 *  2       2     length    data bytes that follow, uint16 LITTLE-endian
 *  4       4     stream id uint32 LITTLE-endian (0 only for NOP)
 *  8       len   data      (PSH payload; UPD: consumed u32 LE ‖ window u32 LE; else empty)
 * ```
 *
 * Source: docs/mux.md "Wire format", checked against the bytes in
 * test/protocol/smux/vectors/smux-frames.json (recorded from xtaci/smux v1.5.15 and v1.5.16).
 * Note the byte order: little-endian, unlike the SSM ClientMessage header (big-endian).
 */
import { ProtocolError } from '../../errors.js';

/** smux commands; the numeric values are the wire byte at offset 1. */
export enum Cmd {
  /** Open stream `sid`. No data. */
  SYN = 0,
  /** The sender writes no more on `sid` (EOF). No data. */
  FIN = 1,
  /** Data for `sid`. */
  PSH = 2,
  /** Keep-alive; stream id 0, no data. */
  NOP = 3,
  /** Version-2 window update: 8 data bytes (consumed, window). */
  UPD = 4,
}

export const VERSION_OFFSET = 0;
export const VERSION_SIZE = 1;
export const CMD_OFFSET = VERSION_OFFSET + VERSION_SIZE;
export const CMD_SIZE = 1;
export const LENGTH_OFFSET = CMD_OFFSET + CMD_SIZE;
export const LENGTH_SIZE = 2;
export const STREAM_ID_OFFSET = LENGTH_OFFSET + LENGTH_SIZE;
export const STREAM_ID_SIZE = 4;
/** 8: every frame starts with this many header bytes. */
export const HEADER_SIZE = STREAM_ID_OFFSET + STREAM_ID_SIZE;
/** The length field is a uint16, so no frame carries more than this many data bytes. */
export const MAX_DATA_BYTES = 0xffff;
/** UPD body: consumed (u32 LE) then window (u32 LE). */
export const UPD_SIZE = 8;
/** Highest command value; anything above is a protocol error that kills the session. */
export const MAX_CMD = Cmd.UPD;

export interface FrameHeader {
  version: number;
  cmd: number;
  length: number;
  streamId: number;
}

/**
 * One decoded frame. `data` may be a zero-copy view into a chunk the decoder was given;
 * the view stays valid for as long as the caller holds it (decoders never write into input).
 */
export interface SmuxFrame {
  version: number;
  cmd: Cmd;
  streamId: number;
  data: Buffer;
}

export interface UpdBody {
  /** Total bytes the peer's application has read from the stream (uint32, wraps). */
  consumed: number;
  /** The peer's receive window for the stream (its MaxStreamBuffer). */
  window: number;
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ProtocolError('ERR_SMUX_BAD_LENGTH', `${what} ${value} is not a uint32`);
  }
}

/** Write the 8-byte header into `target` at `offset` (no validation; internal hot path). */
export function writeHeader(
  target: Buffer,
  offset: number,
  version: number,
  cmd: Cmd,
  length: number,
  streamId: number,
): void {
  target[offset + VERSION_OFFSET] = version;
  target[offset + CMD_OFFSET] = cmd;
  target.writeUInt16LE(length, offset + LENGTH_OFFSET);
  target.writeUInt32LE(streamId, offset + STREAM_ID_OFFSET);
}

/** Encode a bare header (what SYN, FIN and NOP frames consist of). */
export function encodeHeader(header: FrameHeader): Buffer {
  if (header.length > MAX_DATA_BYTES || header.length < 0 || !Number.isInteger(header.length)) {
    throw new ProtocolError(
      'ERR_SMUX_FRAME_TOO_LARGE',
      `smux frame length ${header.length} does not fit the uint16 length field`,
    );
  }
  checkU32(header.streamId, 'stream id');
  const out = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(out, 0, header.version, header.cmd, header.length, header.streamId);
  return out;
}

/** Read the 8-byte header at `offset` (no validation; see `validateHeader`). */
export function decodeHeader(buf: Buffer, offset = 0): FrameHeader {
  if (buf.length - offset < HEADER_SIZE) {
    throw new ProtocolError(
      'ERR_SMUX_BAD_LENGTH',
      `smux header needs ${HEADER_SIZE} bytes, got ${buf.length - offset}`,
    );
  }
  return {
    version: buf[offset + VERSION_OFFSET] as number,
    cmd: buf[offset + CMD_OFFSET] as number,
    length: buf.readUInt16LE(offset + LENGTH_OFFSET),
    streamId: buf.readUInt32LE(offset + STREAM_ID_OFFSET),
  };
}

/**
 * Enforce the per-command rules on a header. `expectedVersion` is the receiving session's
 * configured version (xtaci compares the version byte for equality on every frame).
 *
 * - version ≠ expected → ERR_SMUX_BAD_VERSION (xtaci: ErrInvalidProtocol, session dead)
 * - cmd > 4 → ERR_SMUX_UNKNOWN_COMMAND (xtaci: ErrInvalidProtocol, session dead)
 * - SYN/FIN/NOP with length ≠ 0, UPD with length ≠ 8 → ERR_SMUX_BAD_LENGTH. xtaci never reads
 *   data for those commands (and always reads 8 bytes for UPD), so such a frame would
 *   desynchronise the byte stream there; we stop at the first bad header instead.
 */
export function validateHeader(h: FrameHeader, expectedVersion: number): void {
  if (h.version !== expectedVersion) {
    throw new ProtocolError('ERR_SMUX_BAD_VERSION', `smux version ${h.version}, expected ${expectedVersion}`, {
      details: { version: h.version, expected: expectedVersion },
    });
  }
  if (h.cmd > MAX_CMD) {
    throw new ProtocolError('ERR_SMUX_UNKNOWN_COMMAND', `smux command ${h.cmd} is unknown`, {
      details: { cmd: h.cmd },
    });
  }
  const ok = h.cmd === Cmd.PSH ? true : h.cmd === Cmd.UPD ? h.length === UPD_SIZE : h.length === 0;
  if (!ok) {
    throw new ProtocolError('ERR_SMUX_BAD_LENGTH', `smux ${Cmd[h.cmd] ?? h.cmd} frame with length ${h.length}`, {
      details: { cmd: h.cmd, length: h.length },
    });
  }
}

/** Encode a whole frame into one buffer (one allocation, every byte written). */
export function encodeFrame(frame: { version: number; cmd: Cmd; streamId: number; data?: Buffer }): Buffer {
  const data = frame.data;
  const length = data === undefined ? 0 : data.length;
  if (length > MAX_DATA_BYTES) {
    throw new ProtocolError('ERR_SMUX_FRAME_TOO_LARGE', `smux frame data of ${length} bytes exceeds ${MAX_DATA_BYTES}`);
  }
  checkU32(frame.streamId, 'stream id');
  const out = Buffer.allocUnsafe(HEADER_SIZE + length);
  writeHeader(out, 0, frame.version, frame.cmd, length, frame.streamId);
  if (data !== undefined && length > 0) data.copy(out, HEADER_SIZE);
  return out;
}

/** Encode a UPD body: consumed u32 LE, then window u32 LE. */
export function encodeUpd(body: UpdBody): Buffer {
  checkU32(body.consumed, 'UPD consumed');
  checkU32(body.window, 'UPD window');
  const out = Buffer.allocUnsafe(UPD_SIZE);
  out.writeUInt32LE(body.consumed, 0);
  out.writeUInt32LE(body.window, 4);
  return out;
}

/** Decode a UPD body (exactly 8 bytes). */
export function decodeUpd(data: Buffer): UpdBody {
  if (data.length !== UPD_SIZE) {
    throw new ProtocolError('ERR_SMUX_BAD_LENGTH', `smux UPD body of ${data.length} bytes, expected ${UPD_SIZE}`);
  }
  return { consumed: data.readUInt32LE(0), window: data.readUInt32LE(4) };
}

/** Decode exactly one whole frame from `buf` (tests and tools; streams use FrameDecoder). */
export function decodeFrame(buf: Buffer, expectedVersion: number): SmuxFrame {
  const h = decodeHeader(buf);
  validateHeader(h, expectedVersion);
  if (buf.length !== HEADER_SIZE + h.length) {
    throw new ProtocolError(
      'ERR_SMUX_BAD_LENGTH',
      `smux frame declares ${h.length} data bytes but ${buf.length - HEADER_SIZE} follow`,
    );
  }
  return { version: h.version, cmd: h.cmd, streamId: h.streamId, data: buf.subarray(HEADER_SIZE) };
}
