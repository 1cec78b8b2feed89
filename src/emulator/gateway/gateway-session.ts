/**
 * One session as the emulated message gateway (MGS) sees it: the client's current websocket, the
 * emulated agent, the faults on the path between them, and the service-side timers.
 *
 * Relay rules (docs/protocol.md §W9–§W11): records pass unchanged in both directions; there is
 * no queue in the gateway. What the agent sends while no client socket is attached is lost and
 * the agent's reliable link retransmits it after re-attachment (the agent also pauses its output
 * while detached, as it does on `pause_publication`). A session ends for the client only through
 * `channel_closed`, which is always sent before the gateway closes a client socket on session
 * end; a socket dropped for any other reason leads the client to ResumeSession and re-attach,
 * with sequence numbers unchanged.
 */
import type { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../clock.js';
import { decodeClientMessage, messageTypeAt, type ClientMessage } from '../../protocol/ssm/client-message.js';
import { MessageType } from '../../protocol/ssm/message-type.js';
import type { OpenDataChannelContent } from '../../protocol/ssm/payloads.js';
import { wsSocketCorker } from '../../session/tick-cork.js';
import { PortAgent, type HandshakeInfo } from '../agent/port-agent.js';
import { defaultResolve, type DialTarget } from '../agent/destinations.js';
import { unwrapDataKey } from '../api/kms-api.js';
import { SessionFaults, createRng, deriveSeed, type Direction, type FaultEvent, type FaultKind } from '../faults.js';
import type { EmulatedSession, EmulatorState } from '../state.js';
import { IDLE_TIMEOUT_TEXT, MAX_DURATION_TEXT, encodeChannelClosedRecord } from './channel-closed.js';
import type { DetachReason, EmulatorEvents } from './events.js';

/** A client socket that does not finish the close handshake is destroyed after this long. */
const CLOSE_GRACE_MS = 1000;
const MESSAGE_TYPE_END = 36;

export interface GatewaySessionOptions {
  session: EmulatedSession;
  state: EmulatorState;
  events: EventEmitter<EmulatorEvents>;
  /** Agent handshake timeout (default the agent's 15 s); tests may shorten it. */
  handshakeTimeoutMs?: number;
  resolve?: (host: string) => Promise<string[]>;
  /**
   * Ordinal of the session in this emulator (1, 2, …): with the emulator's `seed` it seeds the
   * session's fault PRNG, so a run that starts sessions in the same order is repeatable.
   */
  ordinal: number;
}

export interface RestartAgentOptions {
  /** The new agent's wait for a HandshakeResponse (default 15 s). */
  handshakeTimeoutMs?: number;
}

function isStreamData(frame: Buffer): boolean {
  if (frame.length < MESSAGE_TYPE_END) return false;
  const t = messageTypeAt(frame);
  return t === MessageType.InputStreamData || t === MessageType.OutputStreamData;
}

export class GatewaySession {
  readonly sessionId: string;
  readonly #o: GatewaySessionOptions;
  readonly #clock: Clock;
  readonly #faults: SessionFaults;
  #agent: PortAgent;
  #agentStarted = false;
  #client: WebSocket | undefined;
  /** Corks the client socket for the rest of the turn: one writev per turn, as the tunnel does. */
  #corkClient: (() => void) | undefined;
  #attachCount = 0;
  #ended = false;
  #endOutput = '';
  #lastActivity: number;
  #idleTimer: TimerHandle | undefined;
  #maxTimer: TimerHandle | undefined;
  readonly #closing = new Set<WebSocket>();

  constructor(options: GatewaySessionOptions) {
    this.#o = options;
    this.sessionId = options.session.sessionId;
    this.#clock = options.state.options.clock;
    this.#lastActivity = this.#clock.now();
    const state = options.state;
    this.#faults = new SessionFaults({
      clock: this.#clock,
      settings: () => state.faults,
      rng: createRng(deriveSeed(state.options.seed, `session-${options.ordinal}`)),
      sink: {
        deliver: (dir, frame) => this.#deliver(dir, frame),
        dropSocket: (kind) => this.#dropClient(kind),
        bye: () => this.#byeClient(),
      },
    });
    this.#faults.on('fault', (e: FaultEvent) => this.#emit('fault', { sessionId: this.sessionId, ...e }));
    this.#agent = this.#newAgent(options.handshakeTimeoutMs);
    this.#armIdle();
    const max = state.options.maxSessionDurationMs;
    if (max > 0) {
      const elapsed = Math.max(0, state.options.clock.wallNow() - options.session.startedAt);
      this.#maxTimer = this.#clock.setTimeout(
        () => {
          this.#maxTimer = undefined;
          state.terminateSession(this.sessionId, MAX_DURATION_TEXT);
        },
        Math.max(0, max - elapsed),
      );
    }
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  get isAttached(): boolean {
    return this.#client !== undefined;
  }

  get agent(): PortAgent {
    return this.#agent;
  }

  /** Relay counters (both directions). */
  get counters(): { messages: number; bytes: number } {
    return this.#faults.counters;
  }

  /** A websocket passed the token check: it becomes the session's client socket. */
  attach(ws: WebSocket, open: OpenDataChannelContent): void {
    if (this.#ended) {
      this.#closeWithChannelClosed(ws, this.#endOutput);
      return;
    }
    if (this.#client !== undefined) this.#detach('replaced', true);
    this.#client = ws;
    this.#corkClient = wsSocketCorker(ws);
    this.#attachCount += 1;
    this.#o.state.markConnected(this.sessionId);
    ws.on('message', (data: WebSocket.RawData) => {
      if (this.#client === ws) this.#faults.relay('c2s', toBuffer(data));
    });
    ws.on('close', () => {
      if (this.#client === ws) this.#detach('closed', false);
    });
    if (this.#agent.channel.isReceivingPaused) ws.pause();
    this.#faults.attached();
    this.#emit('client-attached', {
      sessionId: this.sessionId,
      clientId: open.clientId,
      clientVersion: open.clientVersion,
      attachCount: this.#attachCount,
    });
    this.#agent.setConnected(true);
    if (!this.#agentStarted) {
      // The handshake starts only once a client is attached (its 15 s timeout starts at send).
      this.#agentStarted = true;
      this.#agent.start();
    }
  }

  /**
   * Replace the agent side with a fresh one (an agent restart): it starts over at sequence 0 with
   * a new HandshakeRequest, which the client ignores as an old duplicate, so the new agent's
   * handshake times out and the client gets `channel_closed` with the agent's failure text
   * ("Handshake timed out. …"), as after a real agent restart mid-session.
   */
  restartAgent(options: RestartAgentOptions = {}): void {
    if (this.#ended) return;
    this.#agent.stop();
    this.#agent = this.#newAgent(options.handshakeTimeoutMs ?? this.#o.handshakeTimeoutMs);
    this.#emit('agent-restarted', { sessionId: this.sessionId });
    if (this.#client !== undefined) {
      this.#agentStarted = true;
      this.#agent.setConnected(true);
      this.#agent.start();
    } else {
      this.#agentStarted = false;
    }
  }

  /** The session ended (state `session-terminated`): channel_closed to the client, then close. */
  end(output: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endOutput = output;
    this.#agent.stop();
    this.#faults.close();
    if (this.#idleTimer !== undefined) this.#clock.clearTimeout(this.#idleTimer);
    if (this.#maxTimer !== undefined) this.#clock.clearTimeout(this.#maxTimer);
    this.#idleTimer = undefined;
    this.#maxTimer = undefined;
    const ws = this.#client;
    this.#client = undefined;
    if (ws !== undefined) {
      this.#closeWithChannelClosed(ws, output);
      this.#emit('client-detached', { sessionId: this.sessionId, reason: 'session-ended' });
    }
    this.#emit('channel-closed', { sessionId: this.sessionId, output, delivered: ws !== undefined });
  }

  /** Fault settings were replaced at run time (per-socket timers are re-armed). */
  faultsChanged(): void {
    this.#faults.settingsChanged();
  }

  /** Resolves once every client socket this session closed is gone (emulator shutdown). */
  async closed(): Promise<void> {
    await Promise.all(
      [...this.#closing].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
          }),
      ),
    );
  }

  /** Destroy any socket still open (last step of the emulator's close). */
  destroySockets(): void {
    for (const ws of this.#closing) ws.terminate();
    this.#client?.terminate();
  }

  // ---------------------------------------------------------------------------------------------

  #newAgent(handshakeTimeoutMs: number | undefined): PortAgent {
    const { state, session } = this.#o;
    const opts: ConstructorParameters<typeof PortAgent>[0] = {
      sessionId: this.sessionId,
      instanceId: session.instance.instanceId,
      agentVersion: session.instance.agentVersion,
      properties: session.properties,
      clock: this.#clock,
      pacing: state.options.pacing,
      mappings: state.options.destinations,
      denyList: state.options.remoteHostDenyList,
      sendFrame: (frame) => {
        if (this.#agent === agent && !this.#ended) this.#faults.relay('s2c', frame);
      },
      onEnd: (output) => {
        if (this.#agent !== agent) return;
        this.#emit('agent-ended', { sessionId: this.sessionId, output });
        state.terminateSession(this.sessionId, output);
      },
    };
    if (handshakeTimeoutMs !== undefined) opts.handshakeTimeoutMs = handshakeTimeoutMs;
    const resolve = this.#o.resolve ?? defaultResolve;
    // The `unresolvableHosts` fault: the agent's resolver finds no such host.
    opts.resolve = (host) =>
      (state.faults.unresolvableHosts ?? []).some((h) => h.toLowerCase() === host.toLowerCase())
        ? Promise.reject(new Error(`lookup ${host}: no such host`))
        : resolve(host);
    const kmsKeyId = session.instance.kmsKeyId;
    // Issue #9: the agent asks for KMS encryption and opens the client's blob with the emulator's KMS.
    if (kmsKeyId !== undefined)
      opts.kms = { kmsKeyId, unwrapDataKey: (blob, context) => unwrapDataKey(state, blob, context).plaintext };
    const agent = new PortAgent(opts);
    const sid = this.sessionId;
    agent.on('handshake-complete', (info: HandshakeInfo) =>
      this.#emit('handshake-complete', { sessionId: sid, ...info }),
    );
    agent.on('dial', (d: { target: DialTarget | undefined; ok: boolean; error?: string }) =>
      this.#emit('dial', { sessionId: sid, ...d }),
    );
    agent.on('connect-to-port-error', (streamId: number) =>
      this.#emit('connect-to-port-error', { sessionId: sid, streamId }),
    );
    agent.on('stream', (streamId: number) => this.#emit('stream', { sessionId: sid, streamId }));
    agent.on('flag', (flag: number) => this.#emit('flag', { sessionId: sid, flag }));
    // Inbound backpressure: stop reading the client's socket while the agent cannot take more.
    agent.channel.on('receiving-paused', () => {
      if (this.#agent === agent) this.#client?.pause();
    });
    agent.channel.on('receiving-resumed', () => {
      if (this.#agent === agent) this.#client?.resume();
    });
    return agent;
  }

  /** After faults: hand a record on. */
  #deliver(dir: Direction, frame: Buffer): void {
    if (this.#ended) return;
    if (isStreamData(frame)) this.#touch();
    const wantsMessages = this.#o.events.listenerCount('message') > 0;
    if (dir === 's2c') {
      const ws = this.#client;
      if (ws !== undefined && ws.readyState === WebSocket.OPEN) {
        this.#corkClient?.();
        ws.send(frame);
      }
      if (wantsMessages) this.#emitMessage(dir, frame);
      return;
    }
    let msg: ClientMessage;
    try {
      // INTEROP: the agent does not check the digest and takes everything after offset 120.
      msg = decodeClientMessage(frame, { verifyDigest: false, strictPayloadLength: false });
    } catch (e) {
      this.#emit('protocol-error', { sessionId: this.sessionId, error: e as Error });
      return;
    }
    if (wantsMessages) this.#emit('message', { sessionId: this.sessionId, dir, message: msg });
    if (msg.messageType === MessageType.InputStreamData || msg.messageType === MessageType.Acknowledge)
      this.#agent.handleMessage(msg);
  }

  #emitMessage(dir: Direction, frame: Buffer): void {
    try {
      this.#emit('message', { sessionId: this.sessionId, dir, message: decodeClientMessage(frame) });
    } catch {
      // Our own records always decode; nothing to report otherwise.
    }
  }

  #touch(): void {
    this.#lastActivity = this.#clock.now();
  }

  /** Idle timeout [K]: no stream data in either direction for idleTimeoutMs ends the session. */
  #armIdle(): void {
    const idle = this.#o.state.options.idleTimeoutMs;
    if (idle <= 0) return;
    const wait = Math.max(1, this.#lastActivity + idle - this.#clock.now());
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#ended) return;
      if (this.#clock.now() - this.#lastActivity >= idle)
        this.#o.state.terminateSession(this.sessionId, IDLE_TIMEOUT_TEXT);
      else this.#armIdle();
    }, wait);
  }

  #detach(reason: DetachReason, destroy: boolean): void {
    const ws = this.#client;
    if (ws === undefined) return;
    this.#client = undefined;
    this.#faults.detached();
    this.#agent.setConnected(false);
    if (destroy) ws.terminate();
    this.#emit('client-detached', { sessionId: this.sessionId, reason });
  }

  /** Fault: the TCP connection is destroyed (no close frame, no channel_closed). */
  #dropClient(_kind: FaultKind): void {
    this.#detach('dropped', true);
  }

  /** Fault: a clean websocket close 1000 "Bye", as the service recycles sockets. */
  #byeClient(): void {
    const ws = this.#client;
    if (ws === undefined) return;
    this.#detach('bye', false);
    this.#closeSocket(ws, 1000, 'Bye');
  }

  #closeWithChannelClosed(ws: WebSocket, output: string): void {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(
        encodeChannelClosedRecord({
          sessionId: this.sessionId,
          destinationId: this.#o.session.target,
          output,
          wallMs: this.#clock.wallNow(),
        }),
      );
    }
    this.#closeSocket(ws, 1000, '');
  }

  #closeSocket(ws: WebSocket, code: number, reason: string): void {
    this.#closing.add(ws);
    ws.once('close', () => this.#closing.delete(ws));
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    // A client that never answers the close frame is cut off (a real timer: this is socket I/O).
    const t = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    t.unref();
    ws.once('close', () => clearTimeout(t));
  }

  #emit<K extends keyof EmulatorEvents>(name: K, ...args: EmulatorEvents[K]): void {
    (this.#o.events.emit as (n: K, ...a: EmulatorEvents[K]) => boolean)(name, ...args);
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
