import { Duplex } from 'node:stream';

export interface DuplexPairOptions {
  /** highWaterMark of both the writable and the readable side of each end (bytes). Default 64 KiB. */
  highWaterMark?: number;
}

/**
 * One end of an in-memory byte pipe. What is written to one end is read from the other, with
 * real backpressure: a write's callback is held while the peer's readable buffer is over its
 * highWaterMark, so at most (writable hwm + readable hwm + one chunk) bytes are in flight per
 * direction, exactly like a socket whose reader stopped reading.
 */
class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  /** Bytes written by this end's writer that the peer's reader has taken (for bound checks). */
  bytesWritten = 0;
  #heldCallback: ((error?: Error | null) => void) | undefined;

  constructor(hwm: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm });
  }

  /** Bytes held in this end's writable + the peer's readable buffers (this direction in flight). */
  get inFlightBytes(): number {
    return this.writableLength + (this.peer?.readableLength ?? 0);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined || peer.destroyed || peer.readableEnded) {
      callback(new Error('duplex pair: peer is gone'));
      return;
    }
    this.bytesWritten += chunk.length;
    if (peer.push(chunk)) callback();
    else peer.#heldCallback = callback; // released when the peer's reader wants more
  }

  override _read(): void {
    const cb = this.#heldCallback;
    if (cb !== undefined) {
      this.#heldCallback = undefined;
      cb();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Like a socket: the other side sees EOF and its pending write is released.
    const peer = this.peer;
    if (peer !== undefined && !peer.destroyed && !peer.readableEnded) peer.push(null);
    if (peer !== undefined) {
      const held = peer.#heldCallback;
      peer.#heldCallback = undefined;
      held?.(new Error('duplex pair: peer is gone'));
    }
    callback(error);
  }
}

export type DuplexPairEnd = PairEnd;

/** Two connected in-memory Duplex ends with bounded buffers and real backpressure. */
export function createDuplexPair(options: DuplexPairOptions = {}): [DuplexPairEnd, DuplexPairEnd] {
  const hwm = options.highWaterMark ?? 64 * 1024;
  const a = new PairEnd(hwm);
  const b = new PairEnd(hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
