/**
 * ReliableLink: the reliable-delivery layer of the data channel, shared by the client
 * `DataChannel` (role 'client') and the emulator's agent (role 'agent'). Neither reimplements it.
 *
 * Send path: every stream message gets the next sequence number, is encoded once, handed to
 * `sendFrame` and kept until the peer acks that sequence number. The head of the buffer is
 * retransmitted (identical bytes) when it has waited longer than the RTO; the send time is
 * recorded on each resend. Unlike upstream, nothing is ever evicted: when `windowMessages`
 * messages are unacked, `send` returns false and 'drain' follows once the window has room.
 *
 * Receive path (docs/protocol.md §W5; our deviations in its "Reliable delivery" section):
 *
 * ```
 *  s == E  deliver(msg) → true: ack, E++, deliver buffered E, E+1, … in order
 *                       → false ("not ready"): no ack, no advance; the peer retransmits
 *          (handshake types 5, 7, 8 are acked before delivery, as upstream does)
 *  s >  E  store and ack (reorder buffer; beyond `reorderCapacity`: drop, no ack)
 *  s <  E  duplicate: drop and RE-ACK, so the peer stops retransmitting it
 * ```
 *
 * Inbound flow control (a byte budget): held messages (the reorder buffer) never exceed
 * `receiveBudgetBytes` of payload. While the consumer refuses delivery ("not ready", e.g. a
 * local reader that stopped), the in-order message and every later one are held **without an
 * ack** (within the budget): unacked, they keep counting against the peer's window, so the agent
 * stops sending once its window is full instead of flooding us, and when the consumer resumes
 * they are delivered (and acked) at once, with no retransmission needed. Beyond the budget a
 * message is neither stored nor acked: the peer retransmits it later, nothing is lost. Acks for
 * our own sends are processed whatever the consumer does.
 *
 * A buffered message is never dropped: if `deliver` says "not ready" for it, it stays buffered
 * until `flushDelivery()` is called (DataChannel does so when its consumer resumes) or its
 * retransmission arrives; it is acked when delivered if it was not acked when stored.
 *
 * pause_publication stops sending and retransmitting (new messages are still numbered and
 * kept); start_publication, any incoming ack or stream message, or a reconnect resumes.
 * Acks are unsequenced and never buffered.
 *
 * Events: 'drain'; 'ack' (seq); 'duplicate' (seq); 'resend-exhausted' (SessionError
 * ERR_SESSION_RESEND_EXHAUSTED, emitted once; the link stops retransmitting);
 * 'reorder-overflow' (seq: not stored, budget or capacity reached); 'protocol-error' (TunnelError) for a malformed ack payload.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.js';
import { SessionError, TunnelError } from '../errors.js';
import {
  type ClientMessage,
  MessageFlags,
  MessageType,
  PayloadType,
  acknowledgedSequenceNumber,
  acknowledgeJson,
  encodeClientMessage,
  encodeClientMessageText,
} from '../protocol/ssm/index.js';
import { randomMessageId } from './message-ids.js';
import { RttEstimator } from './rtt-estimator.js';

/** client sends input_stream_data; agent sends output_stream_data (its first message carries Flags 1). */
export type LinkRole = 'client' | 'agent';

export interface ReliableLinkOptions {
  role: LinkRole;
  clock: Clock;
  /** Hand one encoded ClientMessage to the transport; may be dropped while disconnected (retransmission covers it). */
  sendFrame: (frame: Buffer) => void;
  /** In-order sequenced message; return false = "not ready": no ack, no advance (peer retransmits). */
  deliver: (msg: ClientMessage) => boolean;
  /** MessageId source (tests inject fixed ids). Default: random ids as bytes (`randomMessageId`). */
  newMessageId?: () => string;
  /** Unacked messages before `send` returns false. Default 10000 (client), 100000 (agent). */
  windowMessages?: number;
  /**
   * Out-of-order messages kept. Default 100000 for both roles: the peer agent may have up to
   * 100000 messages in flight (its window), and a message dropped here unacked costs one
   * head-of-line resend tick (100 ms) to recover, so a smaller buffer collapses a download to
   * ~10 messages/s once lost messages overflow it. Bounded: at most ~110 MB per session, and
   * only while the peer keeps a gap open.
   */
  reorderCapacity?: number;
  /**
   * Inbound byte budget: payload bytes held (out of order, or refused by the consumer) at most.
   * Default 32 MiB: above the emulated agent's window (10 000 messages) and a 1%-loss burst of
   * 25 000 messages; see the class comment.
   */
  receiveBudgetBytes?: number;
  /** Retransmit tick (ResendSleepInterval). Default 100 ms. */
  resendIntervalMs?: number;
  /** Resends of one message before 'resend-exhausted'. Default 3000 (~5 min); Infinity allowed. */
  maxResends?: number;
}

export const CLIENT_WINDOW_MESSAGES = 10_000;
export const REAL_AGENT_WINDOW_MESSAGES = 100_000;
export const DEFAULT_RESEND_INTERVAL_MS = 100;
export const DEFAULT_MAX_RESENDS = 3000;
export const DEFAULT_RECEIVE_BUDGET_BYTES = 32 * 1024 * 1024;

/** Handshake payload types are acked before they are processed (upstream order). */
const ACK_FIRST_TYPES: ReadonlySet<number> = new Set([
  PayloadType.HandshakeRequest,
  PayloadType.HandshakeComplete,
  PayloadType.EncChallengeRequest,
]);

interface Outgoing {
  readonly seq: number;
  readonly frame: Buffer;
  /** Monotonic ms of the last (re)send; undefined while never sent (disconnected or paused). */
  lastSentAt: number | undefined;
  resends: number;
}

export class ReliableLink extends EventEmitter {
  readonly #role: LinkRole;
  readonly #clock: Clock;
  readonly #sendFrame: (frame: Buffer) => void;
  readonly #deliver: (msg: ClientMessage) => boolean;
  readonly #newMessageId: () => string | Uint8Array;
  readonly #window: number;
  readonly #reorderCapacity: number;
  readonly #resendIntervalMs: number;
  readonly #maxResends: number;
  readonly #outType: string;
  readonly #inType: string;
  readonly #rtt = new RttEstimator();

  /** Unacked messages by sequence number; Map keeps insertion (= sequence) order. */
  readonly #outgoing = new Map<number, Outgoing>();
  /** Held messages (out of order, or refused by the consumer) by sequence number. */
  readonly #reorder = new Map<number, ClientMessage>();
  /** Held messages not acked yet (stored while the consumer refused): acked on delivery. */
  readonly #unackedHeld = new Set<number>();
  readonly #receiveBudget: number;
  #heldBytes = 0;
  /** The consumer refused the last delivery attempt: later messages are held unacked. */
  #refusing = false;
  #nextSeq = 0;
  #expectedSeq = 0;
  #connected = true;
  #paused = false;
  #closed = false;
  #needDrain = false;
  #exhausted = false;
  #delivering = false;
  #timer: TimerHandle | undefined;

  constructor(opts: ReliableLinkOptions) {
    super();
    this.#role = opts.role;
    this.#clock = opts.clock;
    this.#sendFrame = opts.sendFrame;
    this.#deliver = opts.deliver;
    this.#newMessageId = opts.newMessageId ?? randomMessageId;
    const dflt = opts.role === 'client' ? CLIENT_WINDOW_MESSAGES : REAL_AGENT_WINDOW_MESSAGES;
    this.#window = opts.windowMessages ?? dflt;
    this.#reorderCapacity = opts.reorderCapacity ?? REAL_AGENT_WINDOW_MESSAGES;
    this.#receiveBudget = opts.receiveBudgetBytes ?? DEFAULT_RECEIVE_BUDGET_BYTES;
    this.#resendIntervalMs = opts.resendIntervalMs ?? DEFAULT_RESEND_INTERVAL_MS;
    this.#maxResends = opts.maxResends ?? DEFAULT_MAX_RESENDS;
    if (
      !(this.#window >= 1) ||
      !(this.#reorderCapacity >= 0) ||
      !(this.#receiveBudget >= 0) ||
      !(this.#resendIntervalMs > 0) ||
      !(this.#maxResends >= 0)
    ) {
      throw new RangeError(
        'ReliableLink: windowMessages >= 1, reorderCapacity >= 0, resendIntervalMs > 0, maxResends >= 0',
      );
    }
    this.#outType = opts.role === 'client' ? MessageType.InputStreamData : MessageType.OutputStreamData;
    this.#inType = opts.role === 'client' ? MessageType.OutputStreamData : MessageType.InputStreamData;
  }

  get unackedCount(): number {
    return this.#outgoing.size;
  }
  get nextSequenceNumber(): number {
    return this.#nextSeq;
  }
  get expectedSequenceNumber(): number {
    return this.#expectedSeq;
  }
  /** Messages held (out of order or refused by the consumer), not yet delivered. */
  get reorderCount(): number {
    return this.#reorder.size;
  }
  /** Payload bytes held (bounded by `receiveBudgetBytes`). */
  get heldBytes(): number {
    return this.#heldBytes;
  }
  /** True while the consumer refuses delivery (messages are held unacked). */
  get isRefusing(): boolean {
    return this.#refusing;
  }
  /** True when the window is full and producers should wait for 'drain'. */
  get isWindowFull(): boolean {
    return this.#outgoing.size >= this.#window;
  }
  get isPaused(): boolean {
    return this.#paused;
  }
  get isConnected(): boolean {
    return this.#connected;
  }
  /** Current retransmission timeout in ms. */
  get rtoMs(): number {
    return this.#rtt.rtoMs;
  }
  get rtt(): RttEstimator {
    return this.#rtt;
  }

  /**
   * Sends one sequenced stream message. It is numbered, encoded, handed to `sendFrame` (unless
   * disconnected or paused) and kept until acked: it is never dropped. Returns false when the
   * unacked window is full; wait for 'drain' before sending more.
   */
  send(payloadType: PayloadType, payload: Buffer): boolean {
    if (this.#closed) throw new SessionError('ERR_SESSION_CLOSED', 'send on a closed data channel link');
    const seq = this.#nextSeq;
    const frame = encodeClientMessage({
      messageType: this.#outType,
      createdDate: this.#createdDate(),
      sequenceNumber: seq,
      // INTEROP: only the agent's very first output_stream_data (the HandshakeRequest) has Flags 1 (SYN).
      flags: this.#role === 'agent' && seq === 0 ? MessageFlags.Syn : MessageFlags.Data,
      messageId: this.#newMessageId(),
      payloadType,
      payload,
    });
    this.#nextSeq = seq + 1;
    const entry: Outgoing = { seq, frame, lastSentAt: undefined, resends: 0 };
    this.#outgoing.set(seq, entry);
    if (this.#canTransmit()) this.#transmit(entry);
    this.#ensureTimer();
    if (this.#outgoing.size >= this.#window) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Feeds one decoded incoming message. Types other than stream data, acknowledge and publication are ignored. */
  handleMessage(msg: ClientMessage): void {
    if (this.#closed) return;
    switch (msg.messageType) {
      case MessageType.Acknowledge:
        this.#resumeFromPause();
        this.#handleAck(msg);
        return;
      case MessageType.PausePublication:
        // Never acked (unsequenced, MGS-originated).
        this.#paused = true;
        return;
      case MessageType.StartPublication:
        this.#resumeFromPause();
        return;
      case this.#inType:
        this.#resumeFromPause();
        this.#handleStreamData(msg);
        return;
      default:
        return;
    }
  }

  /**
   * The transport went down (false) or came back (true). On reconnect every unacked message is
   * resent at once, in sequence order, and a publication pause is cleared (the agent does the same).
   */
  setConnected(connected: boolean): void {
    if (this.#closed || connected === this.#connected) return;
    this.#connected = connected;
    if (!connected) return;
    this.#paused = false;
    for (const e of this.#outgoing.values()) this.#transmit(e);
    this.#ensureTimer();
  }

  /** Retries delivery of buffered in-order messages that the consumer refused earlier. */
  flushDelivery(): void {
    if (this.#closed) return;
    this.#drainReorder();
  }

  /** Stops timers; later sends throw ERR_SESSION_CLOSED and incoming messages are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
  }

  // ---- receive side ------------------------------------------------------------------------

  #handleAck(msg: ClientMessage): void {
    let seq: number;
    try {
      seq = acknowledgedSequenceNumber(msg.payload);
    } catch (e) {
      if (e instanceof TunnelError) this.emit('protocol-error', e);
      return;
    }
    // Both peers match acks by sequence number only.
    const entry = this.#outgoing.get(seq);
    if (entry === undefined) return; // unknown or already acked: harmless
    this.#outgoing.delete(seq);
    if (entry.lastSentAt !== undefined) this.#rtt.update(this.#clock.now() - entry.lastSentAt);
    this.emit('ack', seq);
    if (this.#outgoing.size === 0) this.#stopTimer();
    if (this.#needDrain && this.#outgoing.size < this.#window) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  #handleStreamData(msg: ClientMessage): void {
    const s = msg.sequenceNumber;
    const e = this.#expectedSeq;
    if (s < e) {
      // Recommendation (not upstream client behaviour): re-ack duplicates so a lost ack does not
      // make the peer retransmit forever (real-agent-resume.jsonl shows ten such resends).
      this.#sendAck(msg);
      this.emit('duplicate', s);
      return;
    }
    if (this.#reorder.has(s)) {
      // A retransmission of a held message: re-ack it if it was acked when stored (the ack may
      // have been lost); an unacked one stays unacked until delivered. Either way, try again.
      if (!this.#unackedHeld.has(s)) this.#sendAck(msg);
      if (s > e) this.emit('duplicate', s);
      else this.#drainReorder();
      return;
    }
    if (s > e) {
      // Out of order: acked at once (the gap is the peer's to fill) unless the consumer is
      // refusing, in which case it is held unacked so the peer's window stays full.
      this.#hold(msg, !this.#refusing);
      return;
    }
    // s === e
    if (ACK_FIRST_TYPES.has(msg.payloadType)) {
      // INTEROP: handshake types are acked before processing, as the upstream client does.
      this.#sendAck(msg);
      this.#expectedSeq = s + 1;
      this.#callDeliver(msg);
    } else {
      if (!this.#callDeliver(msg)) {
        // Not ready: no ack, no advance; held (within the budget) so that resuming needs no
        // retransmission. The peer retransmits it meanwhile; that copy is ignored.
        this.#refusing = true;
        this.#hold(msg, false);
        return;
      }
      this.#refusing = false;
      this.#expectedSeq = s + 1;
      this.#sendAck(msg);
    }
    this.#drainReorder();
  }

  /** Store `msg` within the budget (acked now or on delivery); beyond it: neither stored nor acked. */
  #hold(msg: ClientMessage, ack: boolean): void {
    const n = msg.payload.length;
    if (this.#reorder.size >= this.#reorderCapacity || this.#heldBytes + n > this.#receiveBudget) {
      this.emit('reorder-overflow', msg.sequenceNumber); // not acked: the peer retransmits it later
      return;
    }
    this.#reorder.set(msg.sequenceNumber, msg);
    this.#heldBytes += n;
    if (ack) this.#sendAck(msg);
    else this.#unackedHeld.add(msg.sequenceNumber);
  }

  #callDeliver(msg: ClientMessage): boolean {
    this.#delivering = true;
    try {
      return this.#deliver(msg);
    } finally {
      this.#delivering = false;
    }
  }

  /** Delivers buffered messages E, E+1, … while the consumer accepts them. */
  #drainReorder(): void {
    if (this.#delivering) return; // re-entrant call from inside deliver(): the outer loop continues
    for (;;) {
      const seq = this.#expectedSeq;
      const m = this.#reorder.get(seq);
      if (m === undefined) return;
      // Handshake types coming out of the buffer are processed like in-order ones (upstream bug avoided).
      const accepted = this.#callDeliver(m) || ACK_FIRST_TYPES.has(m.payloadType);
      if (!accepted) {
        this.#refusing = true;
        return; // keep it: it may have been acked, so it must not be dropped
      }
      this.#refusing = false;
      this.#reorder.delete(seq);
      this.#heldBytes -= m.payload.length;
      this.#expectedSeq = seq + 1;
      if (this.#unackedHeld.delete(seq)) this.#sendAck(m);
      if (this.#closed) return;
    }
  }

  #sendAck(msg: ClientMessage): void {
    const frame = encodeClientMessageText(
      {
        messageType: MessageType.Acknowledge,
        createdDate: this.#createdDate(),
        sequenceNumber: 0,
        flags: MessageFlags.Ack,
        messageId: this.#newMessageId(),
        payloadType: 0,
      },
      acknowledgeJson({
        acknowledgedMessageType: msg.messageType,
        acknowledgedMessageId: msg.messageId,
        acknowledgedMessageSequenceNumber: msg.sequenceNumber,
        isSequentialMessage: true,
      }),
    );
    this.#sendFrame(frame);
  }

  // ---- send side ---------------------------------------------------------------------------

  /** CreatedDate: whole Unix milliseconds, never 0 (receivers reject 0). */
  #createdDate(): number {
    return Math.max(1, Math.floor(this.#clock.wallNow()));
  }

  #canTransmit(): boolean {
    return this.#connected && !this.#paused && !this.#closed;
  }

  #transmit(e: Outgoing): void {
    e.lastSentAt = this.#clock.now();
    this.#sendFrame(e.frame);
  }

  #resumeFromPause(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#connected) return;
    // Messages numbered while paused go out now, in order; overdue ones follow the ticker.
    for (const e of this.#outgoing.values()) if (e.lastSentAt === undefined) this.#transmit(e);
    this.#ensureTimer();
  }

  #ensureTimer(): void {
    if (this.#timer !== undefined || this.#closed || this.#exhausted || this.#outgoing.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#resendIntervalMs);
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One retransmit tick: looks only at the oldest unacked message (head-of-line), at most one resend. */
  #tick(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const head = this.#outgoing.values().next().value;
    if (head === undefined) return;
    // Disconnected or paused: stop ticking; setConnected(true) / resume restart the timer.
    if (!this.#canTransmit()) return;
    {
      if (head.lastSentAt === undefined) {
        this.#transmit(head);
      } else if (this.#clock.now() - head.lastSentAt > this.#rtt.rtoMs) {
        if (head.resends >= this.#maxResends) {
          this.#exhausted = true;
          this.emit(
            'resend-exhausted',
            new SessionError(
              'ERR_SESSION_RESEND_EXHAUSTED',
              `message seq ${head.seq} unacknowledged after ${head.resends} resends`,
              {
                details: { sequenceNumber: head.seq, resends: head.resends },
              },
            ),
          );
          return;
        }
        head.resends++;
        // Recommendation: record the resend time (upstream's client forgets to).
        this.#transmit(head);
      }
    }
    this.#ensureTimer();
  }
}
