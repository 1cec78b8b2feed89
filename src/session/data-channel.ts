/**
 * DataChannel: the client end of a Session Manager data channel. Transport-agnostic (the
 * WebSocket comes through `connect`), clock-injected, and built on `ReliableLink`.
 *
 * ```
 *  Idle ──open()──▶ Connecting ──ws open, TEXT OpenDataChannel──▶ Handshaking
 *                                                                  │ HandshakeRequest → Response
 *                                                                  │ (EncChallenge ↔)  Complete
 *                                                                  ▼
 *           Reconnecting ◀──ws dropped / dead peer──  Established ──channel_closed──▶ Closed
 *             │  resume() → new token + StreamUrl,        ▲              close()/terminate()/fatal ─▶ Closed
 *             │  new RequestId, same ClientId; seq kept   │
 *             └───────────────────────────────────────────┘
 * ```
 *
 * Events: 'data' (Buffer, in order), 'drain', 'flag' (FlagCode), 'closed' ({ output }) for
 * channel_closed, 'reconnecting' (reason: SessionError), 'reconnected', 'error' (SessionError:
 * ERR_SESSION_RESEND_EXHAUSTED, ERR_SESSION_RESUME_FAILED, ERR_SESSION_EXPIRED,
 * ERR_SESSION_CONNECT_FAILED), 'protocol-error' (a dropped malformed frame; informational).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { SessionError, TunnelError } from '../errors.js';
import {
  type ClientMessage,
  DEFAULT_CLIENT_VERSION,
  FlagCode,
  MESSAGE_SCHEMA_VERSION,
  MessageType,
  PayloadType,
  STREAM_DATA_PAYLOAD_SIZE,
  decodeChannelClosed,
  decodeClientMessage,
  decodeFlag,
  decodeHandshakeRequest,
  encodeFlag,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
} from '../protocol/ssm/index.js';
import type { PayloadChannel } from './data-channel-duplex.js';
import { type HandshakeResult, answerEncChallenge, completeHandshake, processHandshakeRequest } from './handshake.js';
import { Keepalive } from './keepalive.js';
import { openOutput, sealOutput } from './output-seal.js';
import { ReliableLink } from './reliable-link.js';
import { ReconnectBackoff, ReconnectPolicy } from './reconnect-policy.js';
import type { MessageTransport } from './message-transport.js';
import type { DataChannelOptions } from './data-channel-options.js';
import { isFinalConnectError, messageOf, openTransport, resumeConnect } from './data-channel-connect.js';

export type { HandshakeResult, KmsHandshakeHandler } from './handshake.js';

export type { MessageTransport } from './message-transport.js';
export type { DataChannelOptions } from './data-channel-options.js';

export enum DataChannelState {
  Idle = 'idle',
  Connecting = 'connecting',
  Handshaking = 'handshaking',
  Established = 'established',
  Reconnecting = 'reconnecting',
  Closed = 'closed',
}

const EDGES: Record<DataChannelState, readonly DataChannelState[]> = {
  [DataChannelState.Idle]: [DataChannelState.Connecting, DataChannelState.Closed],
  [DataChannelState.Connecting]: [DataChannelState.Handshaking, DataChannelState.Closed],
  [DataChannelState.Handshaking]: [
    DataChannelState.Established,
    DataChannelState.Reconnecting,
    DataChannelState.Closed,
  ],
  [DataChannelState.Established]: [DataChannelState.Reconnecting, DataChannelState.Closed],
  [DataChannelState.Reconnecting]: [
    DataChannelState.Handshaking,
    DataChannelState.Established,
    DataChannelState.Closed,
  ],
  [DataChannelState.Closed]: [],
};

export class DataChannel extends EventEmitter implements PayloadChannel {
  readonly #opts: DataChannelOptions;
  readonly #clock: Clock;
  readonly #newId: () => string;
  readonly #clientId: string;
  readonly #clientVersion: string;
  readonly #link: ReliableLink;
  #state = DataChannelState.Idle;
  #token: string;
  /** The StreamUrl of the next connect: StartSession's, then the newest ResumeSession returned. */
  #streamUrl: string;
  #transport: MessageTransport | undefined;
  #handshake: HandshakeResult | undefined;
  #agentVersion = '';
  #sessionType = '';
  #properties: Record<string, string> = {};
  #encrypting = false;
  #receivingPaused = false;
  #needDrain = false;
  #openWaiter: { resolve(r: HandshakeResult): void; reject(e: Error): void } | undefined;
  #handshakeTimer: TimerHandle | undefined;
  #keepalive: Keepalive | undefined;
  #fatal: SessionError | undefined;
  /** Resume schedule kept across drops (reset only by a healthy connection): no reconnect storm. */
  readonly #resumeBackoff: ReconnectBackoff;
  /** The current websocket carried new data (a delivery or an ack): a drop of it was not a storm. */
  #progressed = false;

  constructor(opts: DataChannelOptions) {
    super();
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#newId = opts.newId ?? randomUUID;
    this.#clientId = opts.clientId ?? randomUUID();
    this.#clientVersion = opts.clientVersion ?? DEFAULT_CLIENT_VERSION;
    this.#token = opts.tokenValue;
    this.#streamUrl = opts.streamUrl;
    const linkOpts = {
      role: 'client' as const,
      clock: this.#clock,
      sendFrame: (f: Buffer) => this.#sendFrame(f),
      deliver: (m: ClientMessage) => this.#deliver(m),
      ...(opts.newId === undefined ? {} : { newMessageId: opts.newId }),
      ...(opts.maxResends === undefined ? {} : { maxResends: opts.maxResends }),
      ...(opts.windowMessages === undefined ? {} : { windowMessages: opts.windowMessages }),
      ...(opts.receiveBudgetBytes === undefined ? {} : { receiveBudgetBytes: opts.receiveBudgetBytes }),
    };
    this.#link = new ReliableLink(linkOpts);
    this.#resumeBackoff = new ReconnectBackoff(this.#clock, opts.random, opts.reconnectBackoff);
    this.#link.setConnected(false);
    this.#link.on('drain', () => this.#maybeDrain());
    this.#link.on('ack', () => (this.#progressed = true));
    this.#link.on('resend-exhausted', (e: SessionError) => this.#fail(e));
    this.#link.on('protocol-error', (e: TunnelError) => this.emit('protocol-error', e));
    // Out-of-order Output that was acked and held while nobody listened is delivered as soon as
    // a 'data' listener exists (newListener fires before the listener is added, hence the microtask).
    this.on('newListener', (event: string | symbol) => {
      if (event === 'data') queueMicrotask(() => this.#link.flushDelivery());
    });
  }

  get state(): DataChannelState {
    return this.#state;
  }
  get clientId(): string {
    return this.#clientId;
  }
  get handshake(): HandshakeResult | undefined {
    return this.#handshake;
  }
  /** The reliable link underneath (sequence numbers, unacked count), for tests and metrics. */
  get link(): ReliableLink {
    return this.#link;
  }

  /** Connects, sends the OpenDataChannel frame and resolves after HandshakeComplete. */
  async open(): Promise<HandshakeResult> {
    if (this.#state !== DataChannelState.Idle)
      throw new SessionError('ERR_SESSION_CLOSED', `open() in state ${this.#state}`);
    this.#transition(DataChannelState.Connecting);
    const done = new Promise<HandshakeResult>((resolve, reject) => (this.#openWaiter = { resolve, reject }));
    done.catch(() => undefined); // the caller gets the rejection from the returned promise
    this.#startHandshakeTimer();
    // INTEROP: the first open retries with the same StartSession token (no ResumeSession).
    const policy = new ReconnectPolicy(this.#clock, this.#opts.random);
    let lastError: unknown;
    for (;;) {
      try {
        const transport = await this.#connect();
        if (this.#isClosed()) {
          transport.close();
          break;
        }
        this.#attach(transport);
        this.#transition(DataChannelState.Handshaking);
        break;
      } catch (e) {
        lastError = e;
        // A refused URL or upgrade (HTTP 403) will be refused again: no retries.
        if (isFinalConnectError(e)) break;
        if (this.#isClosed() || !(await policy.wait())) break;
        if (this.#isClosed()) break;
      }
    }
    if ((this.#state as DataChannelState) === DataChannelState.Connecting) {
      this.#fail(
        isFinalConnectError(lastError)
          ? lastError
          : new SessionError(
              'ERR_SESSION_CONNECT_FAILED',
              `could not open the data channel websocket: ${messageOf(lastError)}`,
              { cause: lastError },
            ),
      );
    }
    return done;
  }

  /** Sends bytes as Output messages of at most 1024 bytes. False = wait for 'drain'. Never drops. */
  sendData(buf: Buffer): boolean {
    this.#assertUsable();
    if (buf.length > 0 && buf.length <= STREAM_DATA_PAYLOAD_SIZE && !this.#encrypting) {
      // One message (what DataChannelDuplex._writev hands us): no list to build.
      let ok = this.#link.send(PayloadType.Output, buf);
      if (this.#transport?.isFull === true) ok = false;
      if (!ok) this.#needDrain = true;
      return ok;
    }
    // Cut (and, with KMS, seal) every chunk before sending any: a refusal sends nothing.
    const chunks: Buffer[] = [];
    for (let i = 0; i < buf.length; i += STREAM_DATA_PAYLOAD_SIZE) {
      const chunk = buf.subarray(i, i + STREAM_DATA_PAYLOAD_SIZE);
      chunks.push(this.#encrypting ? this.#seal(chunk) : chunk);
    }
    let ok = true;
    // Never rewrite a lone 0x0A (upstream's shell hack): the bytes go out as given.
    for (const chunk of chunks) ok = this.#link.send(PayloadType.Output, chunk) && ok;
    if (this.#transport?.isFull === true) ok = false;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  /** Seals one Output chunk (src/session/output-seal.ts); a refusal fails the channel and is thrown. */
  #seal(chunk: Buffer): Buffer {
    try {
      return sealOutput(this.#opts.kms, chunk);
    } catch (e) {
      this.#fail(e as SessionError);
      throw e;
    }
  }

  /** Sends a Flag message (4-byte big-endian code, never encrypted). */
  sendFlag(code: FlagCode): void {
    this.#assertUsable();
    this.#link.send(PayloadType.Flag, encodeFlag(code));
  }

  /**
   * Inbound backpressure: Output is held unacked (within the link's byte budget; beyond it, not
   * stored) until resumeReceiving(); unacked, it keeps the agent's window full, so it stops sending.
   */
  pauseReceiving(): void {
    this.#receivingPaused = true;
  }

  resumeReceiving(): void {
    if (!this.#receivingPaused) return;
    this.#receivingPaused = false;
    this.#link.flushDelivery();
  }

  /** Sends Flag TerminateSession when the agent supports it, waits briefly for its ack, then closes. */
  async terminate(): Promise<void> {
    if (this.#isClosed()) return;
    if (this.#state === DataChannelState.Established && this.#handshake?.canSendTerminateFlag === true) {
      const seq = this.#link.nextSequenceNumber;
      this.sendFlag(FlagCode.TerminateSession);
      await new Promise<void>((resolve) => {
        const finish = (): void => {
          this.#clock.clearTimeout(timer);
          this.#link.off('ack', onAck);
          this.off('closed', finish);
          resolve();
        };
        const onAck = (s: number): void => {
          if (s === seq) finish();
        };
        const timer = this.#clock.setTimeout(finish, this.#opts.terminateAckTimeoutMs ?? 2000);
        this.#link.on('ack', onAck);
        this.once('closed', finish);
      });
    }
    this.close();
  }

  /** Closes the transport without a close frame (as upstream) and stops every timer. */
  close(): void {
    if (this.#isClosed()) return;
    this.#shutdown();
    this.#rejectOpen(
      new SessionError('ERR_SESSION_CLOSED', 'the data channel was closed before the handshake completed'),
    );
  }

  // ---- transport ---------------------------------------------------------------------------

  #connect(): Promise<MessageTransport> {
    return openTransport(this.#opts, this.#streamUrl);
  }

  #attach(t: MessageTransport): void {
    this.#transport = t;
    t.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.#transport === t) this.#handleFrame(data, isBinary);
    });
    t.on('pong', () => {
      if (this.#transport === t) this.#keepalive?.heard();
    });
    t.on('drain', () => {
      if (this.#transport === t) this.#maybeDrain();
    });
    t.on('error', () => undefined); // a 'close' follows
    t.on('close', () => {
      // A typed session error (a message over the size limit) is the reason the websocket was
      // lost; anything else is reported as a plain close.
      const cause = t.error;
      if (this.#transport === t)
        this.#onTransportLost(
          cause instanceof SessionError
            ? cause
            : new SessionError('ERR_SESSION_CONNECT_FAILED', 'the data channel websocket closed'),
        );
    });
    // INTEROP: the first frame is TEXT, new RequestId per open, same ClientId; nothing comes back.
    t.sendText(
      encodeOpenDataChannel({
        messageSchemaVersion: MESSAGE_SCHEMA_VERSION,
        requestId: this.#newId(),
        tokenValue: this.#token,
        clientId: this.#clientId,
        clientVersion: this.#clientVersion,
      }),
    );
    const timeoutMs = this.#opts.deadPeerTimeoutMs ?? 25_000;
    this.#keepalive = new Keepalive(
      this.#clock,
      { pingIntervalMs: this.#opts.pingIntervalMs ?? 10_000, deadPeerTimeoutMs: timeoutMs },
      () => t.ping(),
      () => {
        if (this.#transport === t)
          this.#onTransportLost(new SessionError('ERR_SESSION_DEAD_PEER', `no pong or message for ${timeoutMs} ms`));
      },
    );
    this.#keepalive.start();
    this.#progressed = false;
    this.#link.setConnected(true);
    this.#resumeBackoff.connected();
    // A producer that waited on the old, full transport: the new one decides now.
    this.#maybeDrain();
  }

  #sendFrame(frame: Buffer): void {
    // While disconnected the frame is dropped here; the link keeps it and resends on reconnect.
    if (this.#transport === undefined || this.#isClosed()) return;
    try {
      this.#transport.sendBinary(frame);
    } catch {
      // A failing socket is detected through its 'close'; retransmission covers the frame.
    }
  }

  #stopConnectionTimers(): void {
    this.#keepalive?.stop();
    this.#keepalive = undefined;
  }

  #onTransportLost(reason: SessionError): void {
    if (this.#isClosed() || this.#state === DataChannelState.Reconnecting) return;
    const old = this.#transport;
    this.#transport = undefined;
    this.#stopConnectionTimers();
    this.#link.setConnected(false);
    old?.close();
    if (this.#progressed) this.#resumeBackoff.madeProgress();
    this.#transition(DataChannelState.Reconnecting);
    this.emit('reconnecting', reason);
    void this.#reconnect(reason);
  }

  /**
   * ResumeSession → reconnect to the StreamUrl it returned, on the ReconnectBackoff schedule
   * (`resumeConnect`); after its last attempt the channel fails (the forward starts a fresh session).
   */
  async #reconnect(reason: SessionError): Promise<void> {
    const r = await resumeConnect(this.#opts, this.#resumeBackoff, reason, {
      url: () => this.#streamUrl,
      isClosed: () => this.#isClosed(),
    });
    if (r.kind === 'closed' || this.#isClosed()) {
      if (r.kind === 'connected') r.transport.close();
      return;
    }
    if (r.kind === 'failed') {
      this.#fail(r.error);
      return;
    }
    this.#token = r.token;
    this.#streamUrl = r.streamUrl;
    const wasEstablished = this.#handshake !== undefined;
    this.#transition(wasEstablished ? DataChannelState.Established : DataChannelState.Handshaking);
    this.#attach(r.transport);
    this.emit('reconnected');
  }

  // ---- incoming ----------------------------------------------------------------------------

  #handleFrame(data: Buffer, _isBinary: boolean): void {
    this.#keepalive?.heard();
    let msg: ClientMessage;
    try {
      // Text frames are parsed too, as upstream does; only binary ones are expected.
      msg = decodeClientMessage(data);
    } catch (e) {
      // Dropped without ack (a digest mismatch is then retransmitted by the agent).
      if (e instanceof TunnelError) this.emit('protocol-error', e);
      return;
    }
    if (msg.messageType === MessageType.ChannelClosed) {
      this.#onChannelClosed(msg);
      return;
    }
    this.#link.handleMessage(msg);
  }

  /** ReliableLink delivers in-order stream messages here; false = not ready (no ack). */
  #deliver(msg: ClientMessage): boolean {
    switch (msg.payloadType) {
      case PayloadType.HandshakeRequest:
        void this.#onHandshakeRequest(msg);
        return true;
      case PayloadType.EncChallengeRequest:
        void this.#onEncChallenge(msg);
        return true;
      case PayloadType.HandshakeComplete:
        this.#onHandshakeComplete(msg);
        return true;
      case PayloadType.Output:
      case PayloadType.StdErr:
      case PayloadType.ExitCode: {
        // Recommendation: never ack data we cannot hand on yet; the agent retransmits it.
        if (this.#handshake === undefined || this.#receivingPaused || this.listenerCount('data') === 0) return false;
        if (msg.payloadType !== PayloadType.Output) return true; // shell-only types: acked, ignored
        let payload: Buffer = msg.payload;
        if (this.#encrypting) {
          try {
            payload = openOutput(this.#opts.kms, payload);
          } catch (e) {
            this.#fail(e as SessionError);
            return false;
          }
        }
        this.#progressed = true;
        this.emit('data', payload);
        return true;
      }
      case PayloadType.Flag: {
        try {
          this.emit('flag', decodeFlag(msg.payload));
        } catch (e) {
          if (e instanceof TunnelError) this.emit('protocol-error', e); // acked and ignored
        }
        return true;
      }
      default:
        return true; // Error, Size, Parameter, …: acked and ignored in port sessions
    }
  }

  async #onHandshakeRequest(msg: ClientMessage): Promise<void> {
    try {
      const req = decodeHandshakeRequest(msg.payload);
      const p = await processHandshakeRequest(req, {
        clientVersion: this.#clientVersion,
        sessionId: this.#opts.sessionId,
        targetId: this.#opts.targetId,
        kms: this.#opts.kms,
      });
      if (this.#isClosed()) return;
      this.#agentVersion = p.agentVersion;
      this.#sessionType = p.sessionType;
      this.#properties = p.properties;
      // HandshakeResponse is never encrypted; encryption starts with the next Output.
      this.#link.send(PayloadType.HandshakeResponse, encodeHandshakeResponse(p.response));
      this.#encrypting = p.encryptionEnabled;
      if (p.failure !== undefined) this.#fail(p.failure);
    } catch (e) {
      this.#fail(
        new SessionError('ERR_SESSION_HANDSHAKE_FAILED', `bad HandshakeRequest: ${messageOf(e)}`, { cause: e }),
      );
    }
  }

  async #onEncChallenge(msg: ClientMessage): Promise<void> {
    try {
      const response = await answerEncChallenge(this.#opts.kms, this.#encrypting, msg.payload);
      if (!this.#isClosed()) this.#link.send(PayloadType.EncChallengeResponse, response);
    } catch (e) {
      this.#fail(e as SessionError);
    }
  }

  #onHandshakeComplete(msg: ClientMessage): void {
    if (this.#handshake !== undefined) return; // no second handshake after a resume
    try {
      this.#handshake = completeHandshake(msg.payload, {
        agentVersion: this.#agentVersion,
        sessionType: this.#sessionType,
        properties: this.#properties,
      });
    } catch (e) {
      this.#fail(e as SessionError);
      return;
    }
    this.#clearHandshakeTimer();
    if (this.#state === DataChannelState.Handshaking) this.#transition(DataChannelState.Established);
    const w = this.#openWaiter;
    this.#openWaiter = undefined;
    w?.resolve(this.#handshake);
  }

  #onChannelClosed(msg: ClientMessage): void {
    let output = '';
    try {
      output = decodeChannelClosed(msg.payload).output;
    } catch {
      // The Output text is all that matters; a malformed body still ends the channel.
    }
    this.#shutdown();
    const err = new SessionError(
      'ERR_SESSION_CHANNEL_CLOSED',
      output === '' ? 'the session was closed by the service' : output,
      {},
    );
    this.#rejectOpen(err);
    this.emit('closed', { output });
  }

  // ---- state helpers -----------------------------------------------------------------------

  #transition(next: DataChannelState): void {
    if (!EDGES[this.#state].includes(next))
      throw new SessionError('ERR_SESSION_CLOSED', `illegal data channel transition ${this.#state} → ${next}`);
    this.#state = next;
  }

  #isClosed(): boolean {
    return this.#state === DataChannelState.Closed;
  }

  #assertUsable(): void {
    if (this.#fatal !== undefined) throw this.#fatal;
    if (this.#state !== DataChannelState.Established && this.#state !== DataChannelState.Reconnecting) {
      throw new SessionError('ERR_SESSION_CLOSED', `the data channel is ${this.#state}`);
    }
  }

  #maybeDrain(): void {
    if (!this.#needDrain || this.#link.isWindowFull) return;
    // A full transport promised a 'drain' when it asked us to wait (MessageTransport.isFull).
    if (this.#transport?.isFull === true) return;
    this.#needDrain = false;
    this.emit('drain');
  }

  #startHandshakeTimer(): void {
    const ms = this.#opts.handshakeTimeoutMs ?? 30_000;
    this.#handshakeTimer = this.#clock.setTimeout(() => {
      this.#handshakeTimer = undefined;
      if (this.#handshake === undefined)
        this.#fail(new SessionError('ERR_SESSION_HANDSHAKE_TIMEOUT', `no HandshakeComplete within ${ms} ms`));
    }, ms);
  }

  #clearHandshakeTimer(): void {
    if (this.#handshakeTimer !== undefined) this.#clock.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
  }

  #shutdown(): void {
    if (this.#isClosed()) return;
    this.#transition(DataChannelState.Closed);
    this.#clearHandshakeTimer();
    this.#stopConnectionTimers();
    this.#resumeBackoff.stop();
    this.#link.close();
    const t = this.#transport;
    this.#transport = undefined;
    t?.close();
  }

  #rejectOpen(err: SessionError): boolean {
    const w = this.#openWaiter;
    this.#openWaiter = undefined;
    w?.reject(err);
    return w !== undefined;
  }

  /** A fatal error is latched once: open() rejects with it, or 'error' is emitted after open. */
  #fail(err: SessionError): void {
    if (this.#isClosed()) return;
    this.#fatal = err;
    this.#shutdown();
    if (!this.#rejectOpen(err)) this.emit('error', err);
  }
}
