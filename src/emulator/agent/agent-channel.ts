/**
 * The emulated agent's end of the data channel: the reliable link in role `agent`, an ordered
 * and paced output queue, and the `PayloadChannel` face the mux (or basic mode) runs over.
 *
 * Reliability (sequence numbers, acks, retransmission, reordering) is `session/ReliableLink`,
 * the same code the client uses; this class only adds what the real agent does around it:
 *
 * - every outgoing payload goes through one FIFO, so a Flag ConnectToPortError is always ahead of
 *   the smux FIN that follows it (`port_mux.go` sends the flag, then closes the stream);
 * - Output is one byte stream cut into messages of at most 1024 bytes when they are sent (the
 *   agent reads its mux pipe / destination socket 1024 bytes at a time, so small writes that
 *   are queued together share a message, e.g. the last bytes of a PSH and the FIN after it), and
 *   paced per `PacingProfile` (profile `agent` also reads on the next event-loop turn, like a
 *   pipe read, so writes made in one turn coalesce);
 * - nothing is sent while no client websocket is attached (the agent's `Pause` on
 *   `pause_publication`), and in mux mode no Output leaves before the client's first Output (the
 *   upstream client crashes its reader if Output arrives before its smux client exists);
 * - `sendData` returns false above a high-water mark and `'drain'` follows (backpressure).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock.js';
import type { ClientMessage } from '../../protocol/ssm/client-message.js';
import { PayloadType } from '../../protocol/ssm/message-type.js';
import { ReliableLink } from '../../session/reliable-link.js';
import { Pacer, STREAM_DATA_PAYLOAD_BYTES, type PacingProfile } from '../pacing.js';

export interface AgentChannelOptions {
  clock: Clock;
  pacing: PacingProfile;
  /** Hand an encoded record to the gateway (faults, then the client socket if attached). */
  sendFrame(frame: Buffer): void;
  /** In-order sequenced message from the client; false = not ready (no ack, peer retransmits). */
  deliver(msg: ClientMessage): boolean;
  /** Outgoing unacked window (messages). The real agent keeps 100 000. */
  windowMessages?: number;
}

/** Queued bytes above which `sendData` asks the writer to wait. */
export const AGENT_OUTPUT_HIGH_WATER_BYTES = 64 * 1024;

interface OutItem {
  payloadType: PayloadType;
  payload: Buffer;
}

export class AgentChannel extends EventEmitter {
  readonly link: ReliableLink;
  readonly #o: AgentChannelOptions;
  readonly #pacer: Pacer;
  #queue: OutItem[] = [];
  #head = 0;
  /** Bytes of the head item already sent (Output items are consumed piecewise). */
  #headOffset = 0;
  #queuedBytes = 0;
  #immediate: NodeJS.Immediate | undefined;
  #needDrain = false;
  #linkBlocked = false;
  #connected = false;
  #outputGate = false;
  #receivingPaused = false;
  #closed = false;
  /** Inside `handleMessage`: output waits until the link has acked the record (see there). */
  #handling = false;
  #pumpAfterHandling = false;
  /** KMS session encryption (issue #9): seals each Output message's payload once set. */
  #sealOutput: ((plaintext: Buffer) => Buffer) | undefined;

  constructor(options: AgentChannelOptions) {
    super();
    this.#o = options;
    this.#pacer = new Pacer(options.pacing, options.clock);
    const linkOptions: ConstructorParameters<typeof ReliableLink>[0] = {
      role: 'agent',
      clock: options.clock,
      sendFrame: (frame) => this.#o.sendFrame(frame),
      deliver: (msg) => this.#o.deliver(msg),
      // The agent retransmits without limit (only the client gives up after 3000 resends).
      maxResends: Number.POSITIVE_INFINITY,
    };
    if (options.windowMessages !== undefined) linkOptions.windowMessages = options.windowMessages;
    this.link = new ReliableLink(linkOptions);
    // Nothing is attached yet: the link must not transmit until a client socket is.
    this.link.setConnected(false);
    this.link.on('drain', () => {
      this.#linkBlocked = false;
      this.#pump();
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Bytes waiting in the output queue (not yet handed to the link). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** True while a client websocket is attached. */
  get isConnected(): boolean {
    return this.#connected;
  }

  /** True while the consumer asked the client side to stop (inbound backpressure). */
  get isReceivingPaused(): boolean {
    return this.#receivingPaused;
  }

  /** A client websocket is (or is no longer) attached. */
  setConnected(connected: boolean): void {
    if (this.#closed || connected === this.#connected) return;
    this.#connected = connected;
    this.link.setConnected(connected);
    if (connected) this.#pump();
  }

  /** Issue #9: from now on every Output message is sealed (per ≤ 1024-byte message, as the agent does). */
  setOutputSeal(seal: (plaintext: Buffer) => Buffer): void {
    this.#sealOutput = seal;
  }

  /** Mux mode: hold Output until the client's first Output arrives (see the file comment). */
  holdOutputUntilClientOutput(): void {
    this.#outputGate = true;
  }

  /** Called by the plugin when the client's first Output arrived. */
  releaseOutput(): void {
    if (!this.#outputGate) return;
    this.#outputGate = false;
    this.#pump();
  }

  /** A record from the client (already decoded). */
  handleMessage(msg: ClientMessage): void {
    if (this.#closed) return;
    // INTEROP: the agent acks a client message when it has processed it, and what processing
    // produced (HandshakeComplete after the HandshakeResponse, smux replies) reaches the wire
    // after that ack: every recorded transcript shows ack(seq 0) before HandshakeComplete. The
    // official plugin stalls when HandshakeComplete overtakes that ack, so output queued while a
    // record is handled is pumped only once the link has sent the record's ack.
    this.#handling = true;
    try {
      this.link.handleMessage(msg);
    } finally {
      this.#handling = false;
    }
    if (this.#pumpAfterHandling) {
      this.#pumpAfterHandling = false;
      this.#pump();
    }
  }

  /** Queue one whole message (handshake, flag): never split. */
  sendMessage(payloadType: PayloadType, payload: Buffer): void {
    if (this.#closed || payload.length === 0) return;
    this.#enqueue({ payloadType, payload });
    this.#schedulePump();
  }

  // ---- PayloadChannel -------------------------------------------------------------------------

  /** Queue Output bytes (sent as ≤ 1024-byte messages). False: wait for `'drain'`. */
  sendData(buf: Buffer): boolean {
    if (this.#closed) return false;
    if (buf.length > 0) this.#enqueue({ payloadType: PayloadType.Output, payload: buf });
    this.#schedulePump();
    const ok = this.#queuedBytes < AGENT_OUTPUT_HIGH_WATER_BYTES;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** Deliver client Output bytes to the consumer (`'data'`). */
  pushData(payload: Buffer): void {
    this.emit('data', payload);
  }

  pauseReceiving(): void {
    if (this.#receivingPaused) return;
    this.#receivingPaused = true;
    this.emit('receiving-paused');
  }

  resumeReceiving(): void {
    if (!this.#receivingPaused) return;
    this.#receivingPaused = false;
    this.emit('receiving-resumed');
  }

  /**
   * Send everything queued now, ignoring pacing (the plugin has returned: what it produced goes
   * out before the session is reported over). Output stays held in mux mode before the client's
   * first Output.
   */
  flush(): void {
    if (this.#closed) return;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#pacer.close();
    while (this.#connected && !this.#linkBlocked && this.#head < this.#queue.length) {
      const item = this.#queue[this.#head] as OutItem;
      if (item.payloadType === PayloadType.Output) {
        if (this.#outputGate) break;
        if (!this.link.send(PayloadType.Output, this.#sealed(this.#takeOutput()))) this.#linkBlocked = true;
      } else {
        this.#head += 1;
        this.#queuedBytes -= item.payload.length;
        if (!this.link.send(item.payloadType, item.payload)) this.#linkBlocked = true;
      }
    }
  }

  /** Stop everything: timers, queue. Nothing more is sent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pacer.close();
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.link.close();
    this.#queue = [];
    this.#head = 0;
    this.#headOffset = 0;
    this.#queuedBytes = 0;
    this.emit('close');
  }

  #enqueue(item: OutItem): void {
    this.#queue.push(item);
    this.#queuedBytes += item.payload.length;
  }

  /** Profile `none`: send now. Profile `agent`: on the next turn, like the agent's pipe read. */
  #schedulePump(): void {
    if (this.#o.pacing === 'none') return this.#pump();
    if (this.#immediate !== undefined || this.#closed) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#handling) {
      this.#pumpAfterHandling = true;
      return;
    }
    while (
      !this.#closed &&
      this.#connected &&
      !this.#linkBlocked &&
      !this.#pacer.isWaiting &&
      this.#head < this.#queue.length
    ) {
      const item = this.#queue[this.#head] as OutItem;
      let payloadType = item.payloadType;
      let payload: Buffer;
      if (payloadType === PayloadType.Output) {
        if (this.#outputGate) break;
        payload = this.#sealed(this.#takeOutput());
      } else {
        payloadType = item.payloadType;
        payload = item.payload;
        this.#head += 1;
        this.#queuedBytes -= payload.length;
      }
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      // The link keeps the message (it never drops); false means its window is now full.
      if (!this.link.send(payloadType, payload)) this.#linkBlocked = true;
      if (payloadType === PayloadType.Output && !this.#pacer.afterOutput(() => this.#pump())) break;
    }
    if (this.#head >= this.#queue.length && this.#head > 0) {
      this.#queue = [];
      this.#head = 0;
      this.#headOffset = 0;
    }
    if (this.#needDrain && this.#queuedBytes < AGENT_OUTPUT_HIGH_WATER_BYTES / 2) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  #sealed(payload: Buffer): Buffer {
    return this.#sealOutput === undefined ? payload : this.#sealOutput(payload);
  }

  /** Up to 1024 bytes from the consecutive Output items at the head of the queue. */
  #takeOutput(): Buffer {
    const parts: Buffer[] = [];
    let n = 0;
    while (this.#head < this.#queue.length && n < STREAM_DATA_PAYLOAD_BYTES) {
      const item = this.#queue[this.#head] as OutItem;
      if (item.payloadType !== PayloadType.Output) break;
      const take = Math.min(item.payload.length - this.#headOffset, STREAM_DATA_PAYLOAD_BYTES - n);
      parts.push(item.payload.subarray(this.#headOffset, this.#headOffset + take));
      n += take;
      this.#headOffset += take;
      if (this.#headOffset === item.payload.length) {
        this.#head += 1;
        this.#headOffset = 0;
      }
    }
    this.#queuedBytes -= n;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }
}
