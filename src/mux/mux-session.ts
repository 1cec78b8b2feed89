/**
 * An smux session (xtaci/smux v1.5 wire behaviour, protocol versions 1 and 2) over any byte
 * `Duplex` carrier: the data channel's `DataChannelDuplex` on the client, the agent's pipe in
 * the emulator, or an in-memory pair in tests.
 *
 * ```
 *   Open ── close() ──────────────────▶ Closed   (writes nothing; every stream destroyed quietly)
 *     │ ── close(err) ─────────────────▶ Closed   (every stream destroyed with ERR_SMUX_STREAM_RESET)
 *     │ ── protocol error / keep-alive ─▶ Closed   ('close' with a MuxError)
 *     └─ carrier EOF ──▶ (frames already received are dispatched) ──▶ Closed
 *                         streams: buffered data then EOF; writes fail ERR_SMUX_SESSION_CLOSED
 * ```
 *
 * Receive path: carrier 'data' → FrameDecoder → dispatch per command. Unread PSH bytes count
 * against `maxReceiveBufferBytes` (xtaci's token bucket); once they reach it the session stops
 * pulling frames and pauses the carrier, and resumes when streams are read. Send path: frames go
 * straight to `carrier.write()`; when it returns false, streams hold their write callbacks until
 * 'drain'. Control frames (SYN, FIN, UPD, NOP) are always written: they are small and bounded
 * by the data that caused them.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { isCodeOf, MuxError, TunnelError, type ErrorCode } from '../errors.js';
import {
  Cmd,
  HEADER_SIZE,
  UPD_SIZE,
  type SmuxFrame,
  decodeUpd,
  encodeFrame,
  writeHeader,
} from '../protocol/smux/frame.js';
import { FrameDecoder } from '../protocol/smux/frame-decoder.js';
import { type MuxConfig, resolveMuxConfig } from './config.js';
import { MuxStream, type StreamHost } from './mux-stream.js';

export type MuxRole = 'client' | 'server';

export interface MuxSessionOptions {
  role: MuxRole;
  config?: Partial<MuxConfig>;
  clock?: Clock;
  /**
   * Per-stream allowance (smux v1 has no per-stream window): a stream holding more unread bytes
   * than this marks the session `stalled`. Default: 1 MiB, or a quarter of the receive budget
   * when that is smaller. Short stalls within it cost nothing.
   */
  streamAllowanceBytes?: number;
  /** @internal Tests only: the id counter's start (default client 1, server 0). */
  lastStreamId?: number;
}

const MAX_STREAM_ID = 0xffffffff;
/** Unread bytes one stream may hold before its session counts as stalled. */
export const DEFAULT_STREAM_ALLOWANCE_BYTES = 1_048_576;

/**
 * Events: `'stream'(MuxStream)` for every peer-opened stream; `'close'(err?: MuxError)` once
 * (no argument after a plain local `close()`); `'warning'(MuxError)` for frames ignored as
 * xtaci ignores them (duplicate SYN, accept backlog full).
 */
export class MuxSession extends EventEmitter implements StreamHost {
  readonly config: MuxConfig;
  readonly role: MuxRole;
  readonly #carrier: Duplex;
  readonly #clock: Clock;
  readonly #decoder: FrameDecoder;
  readonly #streams = new Map<number, MuxStream>();
  readonly #allowance: number;
  readonly #nopFrame: Buffer;
  /** Last id handed out; +2 before use. INTEROP: client 1 → 3, 5, 7 …; server 0 → 2, 4 … */
  #lastId: number;
  #closed = false;
  /** Unread PSH bytes queued in streams (xtaci: MaxReceiveBuffer − bucket). */
  #unread = 0;
  #budgetExhausted = false;
  #carrierPaused = false;
  #carrierEnded = false;
  #dispatching = false;
  #carrierBlocked = false;
  readonly #drainWaiters = new Set<MuxStream>();
  readonly #acceptQueue: MuxStream[] = [];
  /** A frame header arrived since the last keep-alive check. */
  #dataReady = false;
  #pingTimer: TimerHandle | undefined;
  #checkTimer: TimerHandle | undefined;

  constructor(carrier: Duplex, options: MuxSessionOptions) {
    super();
    this.config = resolveMuxConfig(options.config);
    this.role = options.role;
    this.#carrier = carrier;
    this.#clock = options.clock ?? systemClock;
    this.#decoder = new FrameDecoder(this.config.version);
    this.#allowance =
      options.streamAllowanceBytes ?? Math.min(DEFAULT_STREAM_ALLOWANCE_BYTES, this.config.maxReceiveBufferBytes / 4);
    this.#lastId = options.lastStreamId ?? (options.role === 'client' ? 1 : 0);
    this.#nopFrame = encodeFrame({ version: this.config.version, cmd: Cmd.NOP, streamId: 0 });

    carrier.on('data', this.#onData);
    carrier.on('end', this.#onEnd);
    carrier.on('close', this.#onCarrierClose);
    carrier.on('error', this.#onCarrierError);
    carrier.on('drain', this.#onDrain);
    this.on('newListener', this.#onNewListener);

    if (!this.config.keepAliveDisabled) {
      this.#pingTimer = this.#clock.setTimeout(this.#onPing, this.config.keepAliveIntervalMs);
      this.#checkTimer = this.#clock.setTimeout(this.#onKeepAliveCheck, this.config.keepAliveTimeoutMs);
    }
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Streams in the table (opened and not yet finished in both directions or destroyed). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Received PSH bytes not yet read by any stream's consumer (the receive budget in use). */
  get receiveBufferedBytes(): number {
    return this.#unread;
  }

  /**
   * True while one slow reader is holding this session hostage or about to: the receive budget
   * is used up (the carrier is paused, so every stream waits), or one stream holds more unread
   * bytes than its allowance (`streamAllowanceBytes`). smux v1 cannot slow one stream down on the wire, so a
   * pool should give such a session no new streams. It clears as soon as the reader catches up
   * or its stream is destroyed (its unread bytes go back to the budget at once).
   */
  get stalled(): boolean {
    if (this.#budgetExhausted) return true;
    if (this.#unread <= this.#allowance) return false;
    for (const s of this.#streams.values()) if (s.receiveBufferedBytes > this.#allowance) return true;
    return false;
  }

  /** Carrier bytes received but not yet parsed into frames (held while the budget is exhausted). */
  get decoderBufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  get canSend(): boolean {
    return !this.#carrierBlocked;
  }

  /** Open a stream: sends SYN at once. Throws MuxError when closed or the id space is used up. */
  openStream(): MuxStream {
    if (this.#closed) throw new MuxError('ERR_SMUX_SESSION_CLOSED', 'openStream on a closed mux session');
    const id = this.#lastId + 2;
    if (id > MAX_STREAM_ID) {
      // xtaci: when the id counter wraps the session "goes away" for new streams.
      throw new MuxError('ERR_SMUX_STREAM_ID_EXHAUSTED', 'smux stream ids are exhausted; open a new session');
    }
    this.#lastId = id;
    const stream = new MuxStream(this, id);
    this.#streams.set(id, stream);
    this.#writeControl(Cmd.SYN, id);
    return stream;
  }

  /** Close the session: writes nothing (no FINs, as xtaci), destroys every stream, stops using the carrier. */
  close(err?: Error): void {
    this.#shutdown(err === undefined ? undefined : toMuxError(err, 'ERR_SMUX_SESSION_CLOSED'), false);
  }

  // ------------------------------------------------------------------ StreamHost (used by MuxStream)

  /** @internal */
  sendData(streamId: number, data: Buffer): void {
    if (this.#closed) return;
    const c = this.#carrier;
    if (c.destroyed || c.writableEnded) return;
    // PERF: header and data go to the carrier as two chunks of one corked write (the carrier's
    // _writev sees both together), so the data is never copied into a frame buffer here.
    const header = Buffer.allocUnsafe(HEADER_SIZE);
    writeHeader(header, 0, this.config.version, Cmd.PSH, data.length, streamId);
    c.cork();
    c.write(header);
    if (!c.write(data)) this.#carrierBlocked = true;
    c.uncork();
  }

  /** @internal */
  sendFin(streamId: number): void {
    this.#writeControl(Cmd.FIN, streamId);
  }

  /** @internal */
  sendUpd(streamId: number, consumed: number, window: number): void {
    const frame = Buffer.allocUnsafe(HEADER_SIZE + UPD_SIZE);
    writeHeader(frame, 0, this.config.version, Cmd.UPD, UPD_SIZE, streamId);
    frame.writeUInt32LE(consumed >>> 0, HEADER_SIZE);
    frame.writeUInt32LE(window >>> 0, HEADER_SIZE + 4);
    this.#write(frame);
  }

  /** @internal */
  waitDrain(stream: MuxStream): void {
    this.#drainWaiters.add(stream);
  }

  /** @internal */
  returnTokens(n: number): void {
    this.#unread -= n;
    if (this.#budgetExhausted && this.#unread < this.config.maxReceiveBufferBytes) this.#dispatch();
  }

  /** @internal */
  streamDone(stream: MuxStream): void {
    if (this.#streams.get(stream.id) === stream) this.#streams.delete(stream.id);
    this.#drainWaiters.delete(stream);
  }

  // ------------------------------------------------------------------ receive path

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    this.#decoder.push(chunk);
    this.#dispatch();
  };

  /** Pull frames while the budget allows; pause or resume the carrier to match. */
  #dispatch(): void {
    if (this.#dispatching) return; // re-entered from a stream handler: the outer loop continues
    this.#dispatching = true;
    try {
      for (;;) {
        if (this.#closed) return;
        // xtaci recvLoop: wait while the bucket is empty before reading the next header.
        if (this.#unread >= this.config.maxReceiveBufferBytes) {
          this.#budgetExhausted = true;
          break;
        }
        let frame: SmuxFrame | undefined;
        try {
          frame = this.#decoder.next();
        } catch (e) {
          this.#shutdown(toMuxError(e, 'ERR_SMUX_SESSION_CLOSED'), false);
          return;
        }
        if (frame === undefined) {
          this.#budgetExhausted = false;
          break;
        }
        this.#dataReady = true;
        this.#handleFrame(frame);
      }
    } finally {
      this.#dispatching = false;
    }
    if (this.#closed) return;
    if (this.#budgetExhausted) {
      if (!this.#carrierPaused) {
        this.#carrierPaused = true;
        this.#carrier.pause();
      }
    } else if (this.#carrierEnded) {
      this.#shutdown(new MuxError('ERR_SMUX_SESSION_CLOSED', 'the mux carrier ended'), true);
    } else if (this.#carrierPaused) {
      this.#carrierPaused = false;
      this.#carrier.resume();
    }
  }

  #handleFrame(f: SmuxFrame): void {
    switch (f.cmd) {
      case Cmd.NOP:
        // Keep-alive only: it already set #dataReady.
        return;
      case Cmd.SYN: {
        if (this.#streams.has(f.streamId)) {
          // xtaci: a SYN for an existing id is ignored.
          this.emit(
            'warning',
            new MuxError('ERR_SMUX_DUPLICATE_STREAM', `SYN for open stream ${f.streamId} ignored`, {
              details: { streamId: f.streamId },
            }),
          );
          return;
        }
        const stream = new MuxStream(this, f.streamId);
        this.#streams.set(f.streamId, stream);
        this.#accept(stream);
        return;
      }
      case Cmd.FIN:
        this.#streams.get(f.streamId)?.handleRemoteFin();
        return;
      case Cmd.PSH: {
        const stream = this.#streams.get(f.streamId);
        // Unknown id (never opened, or closed locally): xtaci reads and discards the data.
        // Data after the peer's FIN is discarded too (a well-behaved peer never sends it).
        if (f.data.length === 0 || stream === undefined || stream.isRemoteFinished) return;
        this.#unread += f.data.length;
        stream.handleData(f.data);
        return;
      }
      case Cmd.UPD: {
        const stream = this.#streams.get(f.streamId);
        if (stream === undefined) return;
        const { consumed, window } = decodeUpd(f.data);
        if (!stream.handleUpdate(consumed, window) && this.config.version === 2) {
          this.#shutdown(
            new MuxError('ERR_SMUX_WINDOW_VIOLATION', `stream ${f.streamId}: peer consumed more than was sent`, {
              details: { streamId: f.streamId, consumed },
            }),
            false,
          );
        }
        return;
      }
    }
  }

  /** Hand a peer-opened stream to a 'stream' listener, or keep it in the accept backlog. */
  #accept(stream: MuxStream): void {
    if (this.listenerCount('stream') > 0) {
      this.emit('stream', stream);
      return;
    }
    if (this.#acceptQueue.length < this.config.acceptBacklog) {
      this.#acceptQueue.push(stream);
      return;
    }
    this.emit(
      'warning',
      new MuxError('ERR_SMUX_ACCEPT_BACKLOG_FULL', `stream ${stream.id} reset: accept backlog full`, {
        details: { streamId: stream.id },
      }),
    );
    stream.destroy(); // sends FIN and unregisters; no 'error' (nobody owns it)
  }

  readonly #onNewListener = (event: string | symbol): void => {
    if (event === 'stream' && this.#acceptQueue.length > 0) queueMicrotask(this.#flushAccept);
  };

  readonly #flushAccept = (): void => {
    while (this.#acceptQueue.length > 0 && this.listenerCount('stream') > 0 && !this.#closed) {
      const s = this.#acceptQueue.shift() as MuxStream;
      if (!s.destroyed) this.emit('stream', s);
    }
  };

  // ------------------------------------------------------------------ send path

  #writeControl(cmd: Cmd, streamId: number): void {
    const frame = Buffer.allocUnsafe(HEADER_SIZE);
    writeHeader(frame, 0, this.config.version, cmd, 0, streamId);
    this.#write(frame);
  }

  #write(frame: Buffer): void {
    if (this.#closed) return;
    const c = this.#carrier;
    if (c.destroyed || c.writableEnded) return; // 'close' (or 'error') will shut us down
    if (!c.write(frame)) this.#carrierBlocked = true;
  }

  readonly #onDrain = (): void => {
    this.#carrierBlocked = false;
    if (this.#drainWaiters.size === 0) return;
    const waiters = [...this.#drainWaiters];
    this.#drainWaiters.clear();
    for (let i = 0; i < waiters.length; i++) {
      if (this.#carrierBlocked || this.#closed) {
        // Full again: the rest keep their place, ahead of streams that blocked just now.
        const again = [...this.#drainWaiters];
        this.#drainWaiters.clear();
        for (const w of waiters.slice(i)) this.#drainWaiters.add(w);
        for (const w of again) this.#drainWaiters.add(w);
        return;
      }
      (waiters[i] as MuxStream).handleDrain();
    }
  };

  // ------------------------------------------------------------------ keep-alive

  readonly #onPing = (): void => {
    this.#pingTimer = undefined;
    if (this.#closed) return;
    this.#write(this.#nopFrame);
    this.#pingTimer = this.#clock.setTimeout(this.#onPing, this.config.keepAliveIntervalMs);
  };

  readonly #onKeepAliveCheck = (): void => {
    this.#checkTimer = undefined;
    if (this.#closed) return;
    // xtaci: close when no header arrived in the window, unless the bucket is exhausted (we are
    // the ones not reading).
    if (!this.#dataReady && this.#unread < this.config.maxReceiveBufferBytes) {
      this.#shutdown(
        new MuxError('ERR_SMUX_KEEPALIVE_TIMEOUT', `no smux frame received for ${this.config.keepAliveTimeoutMs} ms`),
        false,
      );
      return;
    }
    this.#dataReady = false;
    this.#checkTimer = this.#clock.setTimeout(this.#onKeepAliveCheck, this.config.keepAliveTimeoutMs);
  };

  // ------------------------------------------------------------------ carrier end and shutdown

  readonly #onEnd = (): void => {
    this.#carrierEnded = true;
    // Frames still in the decoder (budget exhausted) are dispatched first; #dispatch shuts down.
    this.#dispatch();
  };

  readonly #onCarrierClose = (): void => {
    if (this.#carrierEnded) return; // 'end' path handles it once the decoder is empty
    this.#shutdown(new MuxError('ERR_SMUX_SESSION_CLOSED', 'the mux carrier closed'), false);
  };

  readonly #onCarrierError = (err: Error): void => {
    if (this.#closed) return;
    this.#shutdown(toMuxError(err, 'ERR_SMUX_SESSION_CLOSED'), false);
  };

  /**
   * Latched once. `graceful` (carrier EOF): streams keep their buffered data and then see EOF.
   * A plain local `close()` (no error) destroys every stream without an error, as http2's
   * `session.destroy()` does: only 'close' is emitted, so nothing crashes a stream nobody
   * listens to for errors. With an error, every stream is destroyed with ERR_SMUX_STREAM_RESET
   * (cause: the session error). Streams still waiting in the accept backlog are destroyed quietly.
   */
  #shutdown(err: MuxError | undefined, graceful: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pingTimer !== undefined) this.#clock.clearTimeout(this.#pingTimer);
    if (this.#checkTimer !== undefined) this.#clock.clearTimeout(this.#checkTimer);
    this.#pingTimer = undefined;
    this.#checkTimer = undefined;
    const c = this.#carrier;
    c.off('data', this.#onData);
    c.off('end', this.#onEnd);
    c.off('close', this.#onCarrierClose);
    c.off('drain', this.#onDrain);
    // The error listener stays (as a no-op) so a late carrier error cannot crash the process.
    this.off('newListener', this.#onNewListener);
    const queued = new Set(this.#acceptQueue.splice(0));
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#drainWaiters.clear();
    for (const s of streams) {
      if (queued.has(s) || err === undefined) s.destroy();
      else if (graceful) s.handleSessionEnd();
      else s.destroy(new MuxError('ERR_SMUX_STREAM_RESET', `stream ${s.id}: mux session closed`, { cause: err }));
    }
    this.emit('close', err);
  }
}

/** Wrap any error as a MuxError, keeping an smux code when it already has one. */
function toMuxError(e: unknown, fallback: MuxError['code']): MuxError {
  if (e instanceof MuxError) return e;
  if (e instanceof TunnelError) {
    // instanceof on the generic class gives TunnelError<any>; read the code as any ErrorCode.
    const code: ErrorCode = (e as TunnelError).code;
    if (isCodeOf(code, 'SMUX')) return new MuxError(code, e.message, { cause: e, details: e.details });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new MuxError(fallback, `mux session closed: ${message}`, { cause: e });
}
