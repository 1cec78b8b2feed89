/**
 * DataChannelDuplex: a Node `Duplex` over a payload channel (the client `DataChannel`, or the
 * emulator agent's channel). This is the byte pipe the smux session (mux mode) or the single
 * TCP connection (basic mode) runs over: Output payloads form one ordered byte stream, with no
 * relation between message boundaries and smux frames.
 *
 * Backpressure, both ways:
 * - write: `sendData()` false (the unacked window is full) holds the write callback until the
 *   channel's 'drain', so `pipeline()` upstream pauses.
 * - read: `push()` false (nobody is reading) calls `pauseReceiving()`; the next `_read()` calls
 *   `resumeReceiving()`. The channel then stops acking/consuming, and the peer slows down.
 *
 * End: the channel's 'closed' (channel_closed) ends the readable side; its 'error' destroys the
 * duplex with that error. Destroying the duplex does not close the channel: its owner does.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import type { EventEmitter } from 'node:events';
import { STREAM_DATA_PAYLOAD_SIZE } from '../protocol/ssm/index.js';

/** What DataChannelDuplex needs from a channel. Events: 'data'(Buffer) in order, 'drain'; optional 'closed', 'error'. */
export interface PayloadChannel extends EventEmitter {
  /** Output payload(s), chunked to <= 1024 bytes per message. False = window full, wait for 'drain'. */
  sendData(buf: Buffer): boolean;
  /** Inbound backpressure (e.g. ws pause). */
  pauseReceiving(): void;
  resumeReceiving(): void;
}

export class DataChannelDuplex extends Duplex {
  readonly #channel: PayloadChannel;
  readonly #maxPayload: number;
  #pendingWrite: ((err?: Error | null) => void) | undefined;
  #receivingPaused = false;

  readonly #onData = (buf: Buffer): void => {
    if (this.destroyed || this.readableEnded) return;
    if (!this.push(buf) && !this.#receivingPaused) {
      this.#receivingPaused = true;
      this.#channel.pauseReceiving();
    }
  };
  readonly #onDrain = (): void => {
    const cb = this.#pendingWrite;
    this.#pendingWrite = undefined;
    cb?.();
  };
  readonly #onClosed = (): void => {
    if (this.destroyed) return;
    this.push(null);
    // Nothing more can be sent on an ended channel: finish the writable side too.
    const cb = this.#pendingWrite;
    this.#pendingWrite = undefined;
    cb?.();
    if (!this.writableEnded) this.end();
  };
  readonly #onError = (err: Error): void => {
    this.destroy(err);
  };

  constructor(
    channel: PayloadChannel,
    options: Pick<DuplexOptions, 'readableHighWaterMark' | 'writableHighWaterMark'> & {
      /** The channel's largest Output payload (1024 on the wire); `_writev` packs to it. */
      maxPayloadBytes?: number;
    } = {},
  ) {
    const { maxPayloadBytes, ...streamOptions } = options;
    super({ ...streamOptions, allowHalfOpen: true, decodeStrings: true });
    this.#channel = channel;
    this.#maxPayload = maxPayloadBytes ?? STREAM_DATA_PAYLOAD_SIZE;
    channel.on('data', this.#onData);
    channel.on('drain', this.#onDrain);
    channel.on('closed', this.#onClosed);
    channel.on('error', this.#onError);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let ok: boolean;
    try {
      ok = this.#channel.sendData(chunk);
    } catch (e) {
      callback(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // sendData never drops: false only means "wait for drain before the next write".
    if (ok) callback();
    else this.#pendingWrite = callback;
  }

  /**
   * Several chunks at once (a corked smux header and its data, or writes queued behind a full
   * channel): they are cut into payloads of at most `maxPayloadBytes` across chunk boundaries,
   * so an 8-byte smux header never travels as a message of its own and data is not copied to
   * join a frame first. Only a payload that spans chunks is assembled (≤ maxPayloadBytes).
   */
  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    let ok = true;
    try {
      for (const payload of packPayloads(chunks, this.#maxPayload)) ok = this.#channel.sendData(payload) && ok;
    } catch (e) {
      callback(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (ok) callback();
    else this.#pendingWrite = callback;
  }

  override _read(): void {
    if (this.#receivingPaused) {
      this.#receivingPaused = false;
      this.#channel.resumeReceiving();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Ending our writable side sends nothing: per-connection teardown is the port layer's job
    // (smux FIN in mux mode, Flag DisconnectToPort in basic mode).
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#channel.off('data', this.#onData);
    this.#channel.off('drain', this.#onDrain);
    this.#channel.off('closed', this.#onClosed);
    this.#channel.off('error', this.#onError);
    const cb = this.#pendingWrite;
    this.#pendingWrite = undefined;
    cb?.(err ?? null);
    if (this.#receivingPaused) {
      this.#receivingPaused = false;
      this.#channel.resumeReceiving();
    }
    callback(err);
  }
}

/**
 * Cuts a list of chunks into payloads of at most `max` bytes, in order, across chunk
 * boundaries. A payload inside one chunk is a view of it; one that spans chunks is copied once.
 */
export function* packPayloads(chunks: ReadonlyArray<{ chunk: Buffer }>, max: number): Generator<Buffer> {
  let parts: Buffer[] = [];
  let partsLength = 0;
  for (const { chunk } of chunks) {
    let off = 0;
    while (off < chunk.length) {
      const room = max - partsLength;
      const n = Math.min(room, chunk.length - off);
      if (partsLength === 0 && n === max) {
        yield chunk.subarray(off, off + n);
      } else {
        parts.push(chunk.subarray(off, off + n));
        partsLength += n;
        if (partsLength === max) {
          yield Buffer.concat(parts, partsLength);
          parts = [];
          partsLength = 0;
        }
      }
      off += n;
    }
  }
  if (partsLength > 0) yield parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partsLength);
}
