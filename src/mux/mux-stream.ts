/**
 * One smux stream as a Node `Duplex` with real backpressure in both directions.
 *
 * ```
 *            end() → FIN sent                 remote FIN → push(null)
 *   Open ─────────────────────▶ LocalFin ───────────────────────▶ Done (unregistered)
 *     │  remote FIN → push(null)                                     ▲
 *     └────────────────────────▶ RemoteFin ── end() → FIN sent ──────┘
 *   any state ── destroy() ──▶ FIN sent if not yet (and the session is alive), unregistered
 *   any state ── session close(err) ──▶ destroyed with ERR_SMUX_STREAM_RESET (plain close(): destroyed, no error)
 *   any state ── carrier EOF ──▶ buffered data then EOF; later writes fail ERR_SMUX_SESSION_CLOSED
 * ```
 *
 * FIN mapping (docs/mux.md): `end()` is a TCP-style write half-close: we send FIN and keep
 * reading until the peer's FIN. xtaci v1 lets a peer keep writing after it received our FIN,
 * so `allowHalfOpen: true` keeps our write side alive after a remote FIN too.
 *
 * Write side: `_write` cuts the chunk into PSH frames of at most `maxFrameBytes` (and, in
 * version 2, within the peer's window) and holds the callback while the carrier is full or
 * the window is closed, so `write()` returns false and a piped source pauses.
 *
 * Read side: received data waits in our own queue (it counts against the session's receive
 * budget) and is pushed one chunk per `_read` demand (readableHighWaterMark 0), so unread data
 * lives in one bounded place and the budget is returned only when the application reads.
 */
import { Duplex } from 'node:stream';
import { MuxError } from '../errors.js';
import type { MuxConfig } from './config.js';

/** xtaci initialPeerWindow: what a v2 writer may send before the first UPD arrives. */
export const INITIAL_PEER_WINDOW = 262_144;

/** What a stream needs from its session (implemented by MuxSession). */
export interface StreamHost {
  readonly config: MuxConfig;
  readonly isClosed: boolean;
  /** False while the carrier's write() has returned false and 'drain' has not followed. */
  readonly canSend: boolean;
  sendData(streamId: number, data: Buffer): void;
  sendFin(streamId: number): void;
  sendUpd(streamId: number, consumed: number, window: number): void;
  /** Call `stream.handleDrain()` once the carrier drains. */
  waitDrain(stream: MuxStream): void;
  /** The application read `n` bytes: give them back to the receive budget. */
  returnTokens(n: number): void;
  /** Remove the stream from the table; later frames for its id are discarded. */
  streamDone(stream: MuxStream): void;
}

type WriteCallback = (error?: Error | null) => void;

export class MuxStream extends Duplex {
  readonly id: number;
  readonly #host: StreamHost;
  readonly #maxFrameBytes: number;
  readonly #isV2: boolean;

  // --- read side
  #queue: Buffer[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #wantRead = false;
  #delivering = false;
  #remoteFin = false;
  /** A FIN frame really arrived (not just the end of the session). */
  #finFrame = false;
  #endPushed = false;
  #numRead = 0; // v2: total bytes the application has read (uint32, wraps)
  #incr = 0; // v2: bytes read since the last UPD

  // --- write side
  #finSent = false;
  #chunk: Buffer | undefined;
  #chunkOffset = 0;
  #chunkCb: WriteCallback | undefined;
  #waitingWindow = false;
  #numWritten = 0; // v2: total data bytes sent (uint32, wraps)
  #peerConsumed = 0;
  #peerWindow = INITIAL_PEER_WINDOW;

  #registered = true;
  #sessionGone = false;

  /** @internal Created by MuxSession (openStream or a peer SYN); never construct directly. */
  constructor(host: StreamHost, id: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: 0 });
    this.id = id;
    this.#host = host;
    this.#maxFrameBytes = host.config.maxFrameBytes;
    this.#isV2 = host.config.version === 2;
  }

  /** Bytes received for this stream that the application has not read yet. */
  get receiveBufferedBytes(): number {
    return this.#queuedBytes;
  }

  /** True once the peer's FIN arrived (no more data will be accepted for this stream). */
  get isRemoteFinished(): boolean {
    return this.#remoteFin;
  }

  /**
   * True only when the peer sent FIN: the stream's data is complete. A stream whose session
   * ended (carrier EOF) also reaches 'end' after its buffered data, but with this false: the
   * data may be cut short, and the tunnel resets the local connection instead of ending it.
   */
  get finReceived(): boolean {
    return this.#finFrame;
  }

  // ------------------------------------------------------------------ session → stream

  /** @internal PSH data (already counted against the session budget). */
  handleData(data: Buffer): void {
    this.#queue.push(data);
    this.#queuedBytes += data.length;
    if (this.#wantRead) this.#deliver();
  }

  /** @internal The peer sent FIN: EOF after the buffered data. */
  handleRemoteFin(): void {
    if (this.#remoteFin) return;
    this.#remoteFin = true;
    this.#finFrame = true;
    // xtaci v2: a writer waiting for window gives up with EOF when the peer's FIN arrives.
    if (this.#waitingWindow)
      this.#finishWrite(
        new MuxError('ERR_SMUX_STREAM_RESET', `stream ${this.id}: peer closed while a write waited for window`),
      );
    this.#deliver();
    this.#maybeDone();
  }

  /**
   * @internal A UPD frame: the peer's total consumed bytes and its window. Returns false when
   * the peer claims to have consumed more than we sent (a v2 window violation).
   */
  handleUpdate(consumed: number, window: number): boolean {
    this.#peerConsumed = consumed;
    this.#peerWindow = window;
    if (this.#inflight() < 0) return false;
    if (this.#waitingWindow) {
      this.#waitingWindow = false;
      this.#pump();
    }
    return true;
  }

  /** @internal The carrier drained. */
  handleDrain(): void {
    this.#pump();
  }

  /** @internal The carrier ended (peer session gone): deliver what is buffered, then EOF. */
  handleSessionEnd(): void {
    this.#sessionGone = true;
    this.#registered = false;
    if (!this.#remoteFin) {
      this.#remoteFin = true;
      this.#deliver();
    }
    this.#pump();
  }

  // ------------------------------------------------------------------ Duplex internals

  override _read(): void {
    this.#wantRead = true;
    this.#deliver();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.#chunk = chunk;
    this.#chunkOffset = 0;
    this.#chunkCb = callback;
    this.#pump();
  }

  override _final(callback: WriteCallback): void {
    // The session is gone: there is nobody to send FIN to, and nothing is lost by not sending it.
    if (!this.#finSent && !this.#host.isClosed) {
      this.#finSent = true;
      this.#host.sendFin(this.id);
    }
    callback();
    this.#maybeDone();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#chunkCb !== undefined)
      this.#finishWrite(error ?? new MuxError('ERR_SMUX_STREAM_RESET', `stream ${this.id} destroyed`));
    if (this.#queuedBytes > 0) {
      const n = this.#queuedBytes;
      this.#queue = [];
      this.#queueHead = 0;
      this.#queuedBytes = 0;
      this.#host.returnTokens(n);
    }
    if (!this.#finSent && !this.#host.isClosed && !this.#sessionGone) {
      // xtaci Close(): one FIN, then the stream is forgotten.
      this.#finSent = true;
      this.#host.sendFin(this.id);
    }
    if (this.#registered) {
      this.#registered = false;
      this.#host.streamDone(this);
    }
    callback(error);
  }

  // ------------------------------------------------------------------ helpers

  #inflight(): number {
    // uint32 arithmetic as in xtaci: int32(numWritten - peerConsumed).
    return (this.#numWritten - this.#peerConsumed) | 0;
  }

  /** Push queued chunks while the reader wants them; EOF after the last one once FIN arrived. */
  #deliver(): void {
    if (this.#delivering) return; // re-entered from a 'data' handler: the outer loop continues
    this.#delivering = true;
    try {
      while (this.#wantRead && this.#queueHead < this.#queue.length && !this.destroyed) {
        const chunk = this.#queue[this.#queueHead] as Buffer;
        this.#queue[this.#queueHead++] = EMPTY;
        if (this.#queueHead === this.#queue.length) {
          this.#queue = [];
          this.#queueHead = 0;
        }
        this.#queuedBytes -= chunk.length;
        this.#wantRead = this.push(chunk);
        this.#consumed(chunk.length);
      }
      if (this.#remoteFin && !this.#endPushed && this.#queuedBytes === 0 && !this.destroyed) {
        this.#endPushed = true;
        this.push(null);
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** The application took `n` bytes: return budget; in v2 tell the peer as xtaci does. */
  #consumed(n: number): void {
    this.#host.returnTokens(n);
    if (!this.#isV2 || this.#host.isClosed || this.#sessionGone) return;
    this.#numRead = (this.#numRead + n) >>> 0;
    this.#incr += n;
    // INTEROP: xtaci sends UPD on the first read and whenever half the window was read since
    // the last UPD; the vectors' v2 scenario shows consumed 3, 32771, 65539 for reads of
    // 3, 32768, 32768, 4464 bytes.
    const window = this.#host.config.maxStreamBufferBytes;
    if (this.#incr >= window / 2 || this.#numRead === n) {
      this.#incr = 0;
      this.#host.sendUpd(this.id, this.#numRead, window);
    }
  }

  /** Send as much of the pending chunk as the carrier and the v2 window allow. */
  #pump(): void {
    const chunk = this.#chunk;
    if (chunk === undefined) return;
    const host = this.#host;
    for (;;) {
      if (host.isClosed || this.#sessionGone) {
        this.#finishWrite(new MuxError('ERR_SMUX_SESSION_CLOSED', `stream ${this.id}: the mux session is closed`));
        return;
      }
      if (!host.canSend) {
        // Hold the callback (even after the last frame) until the carrier drains.
        host.waitDrain(this);
        return;
      }
      const remaining = chunk.length - this.#chunkOffset;
      if (remaining === 0) {
        this.#finishWrite(null);
        return;
      }
      let n = remaining < this.#maxFrameBytes ? remaining : this.#maxFrameBytes;
      if (this.#isV2) {
        const window = this.#peerWindow - this.#inflight();
        if (window <= 0) {
          this.#waitingWindow = true;
          return;
        }
        if (window < n) n = window;
      }
      const start = this.#chunkOffset;
      this.#chunkOffset += n;
      this.#numWritten = (this.#numWritten + n) >>> 0;
      host.sendData(this.id, n === chunk.length ? chunk : chunk.subarray(start, start + n));
    }
  }

  #finishWrite(error: Error | null): void {
    const cb = this.#chunkCb;
    this.#chunk = undefined;
    this.#chunkCb = undefined;
    this.#chunkOffset = 0;
    this.#waitingWindow = false;
    if (cb !== undefined) cb(error);
  }

  /** Both FINs exchanged: forget the stream in the session table. */
  #maybeDone(): void {
    if (this.#registered && this.#finSent && this.#remoteFin) {
      this.#registered = false;
      this.#host.streamDone(this);
    }
  }
}

const EMPTY = Buffer.alloc(0);
