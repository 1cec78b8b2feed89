/**
 * Incremental smux frame decoder over an arbitrary byte stream.
 *
 * smux frames are not aligned with carrier chunks: SSM data-channel messages carry at most 1024
 * bytes and cut frames anywhere (docs/protocol.md §W8). The decoder keeps
 * a list of input chunks and an offset into the first, peeks the 8-byte header even when it spans
 * chunks, and hands frames out one at a time (`next()`), so a session can stop pulling when its
 * receive budget is exhausted and leave the rest here.
 *
 * Payloads are zero-copy views when they sit inside one input chunk, and one fresh allocation
 * when they span chunks. Input chunks are never written into, so views stay valid for as long
 * as the caller holds them.
 */
import { ProtocolError } from '../../errors.js';
import { Cmd, HEADER_SIZE, type FrameHeader, type SmuxFrame, decodeHeader, validateHeader } from './frame.js';

export class FrameDecoder {
  readonly #version: number;
  /** Unconsumed input; bytes of `#chunks[0]` before `#offset` are already consumed. */
  #chunks: Buffer[] = [];
  #head = 0;
  #offset = 0;
  #buffered = 0;
  /** Header of the frame whose data has not fully arrived yet. */
  #pending: FrameHeader | undefined;
  #error: ProtocolError | undefined;
  readonly #scratch = Buffer.alloc(HEADER_SIZE);

  /** `version`: the receiving session's protocol version (1 or 2); others are rejected. */
  constructor(version: number) {
    this.#version = version;
  }

  /** Bytes received but not yet returned as frames (bounded by what the caller pushes). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Append a chunk of the byte stream. The chunk is not copied and never modified. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame, or `undefined` when more bytes are needed. Throws `ProtocolError`
   * (ERR_SMUX_BAD_VERSION / ERR_SMUX_UNKNOWN_COMMAND / ERR_SMUX_BAD_LENGTH) as soon as a bad
   * header is complete; the error is latched and every later call throws it again.
   */
  next(): SmuxFrame | undefined {
    if (this.#error !== undefined) throw this.#error;
    if (this.#pending === undefined) {
      if (this.#buffered < HEADER_SIZE) return undefined;
      const h = this.#readHeader();
      try {
        validateHeader(h, this.#version);
      } catch (e) {
        this.#error = e as ProtocolError;
        this.#chunks = [];
        this.#head = 0;
        this.#offset = 0;
        this.#buffered = 0;
        throw e;
      }
      this.#pending = h;
    }
    const h = this.#pending;
    if (this.#buffered < h.length) return undefined;
    this.#pending = undefined;
    return { version: h.version, cmd: h.cmd as Cmd, streamId: h.streamId, data: this.#take(h.length) };
  }

  /** Convenience for tests and tools: push a chunk and collect every frame now complete. */
  decode(chunk: Buffer): SmuxFrame[] {
    this.push(chunk);
    const out: SmuxFrame[] = [];
    for (let f = this.next(); f !== undefined; f = this.next()) out.push(f);
    return out;
  }

  #readHeader(): FrameHeader {
    const first = this.#chunks[this.#head] as Buffer;
    if (first.length - this.#offset >= HEADER_SIZE) {
      // PERF: the common case, the whole header in one chunk: no copy.
      const h = decodeHeader(first, this.#offset);
      this.#skip(HEADER_SIZE);
      return h;
    }
    this.#copyOut(this.#scratch, HEADER_SIZE);
    return decodeHeader(this.#scratch, 0);
  }

  /** Remove `n` bytes (n ≤ buffered) and return them, as a view when they sit in one chunk. */
  #take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.#chunks[this.#head] as Buffer;
    if (first.length - this.#offset >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#skip(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    this.#copyOut(out, n);
    return out;
  }

  /** Copy `n` bytes into `target` and consume them. */
  #copyOut(target: Buffer, n: number): void {
    let written = 0;
    while (written < n) {
      const c = this.#chunks[this.#head] as Buffer;
      const take = Math.min(c.length - this.#offset, n - written);
      c.copy(target, written, this.#offset, this.#offset + take);
      written += take;
      this.#skip(take);
    }
  }

  /** Consume `n` bytes that lie within the first chunk. */
  #skip(n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    const c = this.#chunks[this.#head] as Buffer;
    if (this.#offset === c.length) {
      this.#head++;
      this.#offset = 0;
      // PERF: drop consumed chunks only once they are at least half the list, so compaction is
      // amortised O(1) per chunk even when a 64 KiB frame arrives in 1-byte pieces (a fixed
      // "every 64 chunks" rule made that case quadratic).
      if (this.#head === this.#chunks.length) {
        this.#chunks = [];
        this.#head = 0;
      } else if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
    }
  }
}
