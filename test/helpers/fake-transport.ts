/**
 * In-memory MessageTransport for DataChannel tests: records what the client sends, lets the
 * test inject frames, pongs and drops. `FakeConnector` hands out a new FakeTransport per
 * connect() and can be told to fail.
 */
import { EventEmitter } from 'node:events';
import type { MessageTransport } from '../../src/session/data-channel.js';
import { type ClientMessage, decodeClientMessage } from '../../src/protocol/ssm/index.js';

export class FakeTransport extends EventEmitter implements MessageTransport {
  readonly texts: string[] = [];
  readonly frames: Buffer[] = [];
  pings = 0;
  closed = false;
  paused = false;
  bufferedAmount = 0;
  /** isFull is true at or above this many buffered bytes; the test emits 'drain' itself. */
  highWaterBytes = 4 * 1024 * 1024;
  /** True once isFull answered true, until the test calls drained(). */
  drainOwed = false;
  /** Answer every ping with a pong (on the next microtask). */
  autoPong = false;

  get isFull(): boolean {
    if (this.bufferedAmount < this.highWaterBytes) return false;
    this.drainOwed = true;
    return true;
  }

  sendText(text: string): void {
    if (this.closed) throw new Error('sendText on a closed FakeTransport');
    this.texts.push(text);
  }
  sendBinary(frame: Buffer): void {
    if (this.closed) throw new Error('sendBinary on a closed FakeTransport');
    this.frames.push(Buffer.from(frame));
  }
  ping(): void {
    this.pings++;
    if (this.autoPong) queueMicrotask(() => this.emit('pong'));
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', 1006, '');
  }

  // ---- test side ----
  /** Delivers one frame from the "server" (binary by default). */
  receive(frame: Buffer, isBinary = true): void {
    this.emit('message', frame, isBinary);
  }
  /** The socket flushed: bufferedAmount falls to `to` and 'drain' is emitted if one is owed. */
  drained(to = 0): void {
    this.bufferedAmount = to;
    if (this.drainOwed && to < this.highWaterBytes) {
      this.drainOwed = false;
      this.emit('drain');
    }
  }
  /** The connection drops (no close frame). */
  drop(): void {
    this.close();
  }
  /** Everything sent as binary, decoded. */
  messages(): ClientMessage[] {
    return this.frames.map((f) => decodeClientMessage(f));
  }
}

export class FakeConnector {
  readonly transports: FakeTransport[] = [];
  readonly urls: string[] = [];
  /** Number of upcoming connect() calls that reject. */
  failNext = 0;
  autoPong = false;

  readonly connect = async (url: string): Promise<MessageTransport> => {
    this.urls.push(url);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('connect refused (fake)');
    }
    const t = new FakeTransport();
    t.autoPong = this.autoPong;
    this.transports.push(t);
    return t;
  };

  /** The most recent transport. */
  get last(): FakeTransport {
    const t = this.transports[this.transports.length - 1];
    if (t === undefined) throw new Error('no transport yet');
    return t;
  }
}

/** Lets pending promise callbacks and I/O callbacks run (not a sleep: no time passes on the fake clock). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
