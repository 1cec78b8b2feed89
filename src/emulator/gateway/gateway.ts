/**
 * The emulated message gateway's websocket endpoint: `/v1/data-channel/<SessionId>`.
 *
 * A client opens the StreamUrl, then its first frame must be the TEXT OpenDataChannel JSON with
 * the session's token (from StartSession or ResumeSession). The gateway answers nothing to that
 * frame (§4.1, §8.1). A wrong token, a binary first frame or malformed JSON closes the socket and
 * records `ERR_EMULATOR_BAD_TOKEN`. A session that has already ended answers with its
 * `channel_closed` and closes.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { TimerHandle } from '../../clock.js';
import { EmulatorError } from '../../errors.js';
import { decodeOpenDataChannel, type OpenDataChannelContent } from '../../protocol/ssm/payloads.js';
import type { EmulatedSession, EmulatorState } from '../state.js';
import { encodeChannelClosedRecord } from './channel-closed.js';
import type { EmulatorEvents } from './events.js';
import { GatewaySession, type RestartAgentOptions } from './gateway-session.js';

/** How long a new websocket may take to send its OpenDataChannel frame. */
export const OPEN_FRAME_TIMEOUT_MS = 30_000;
/** Close code for a refused websocket (policy violation). */
export const BAD_TOKEN_CLOSE_CODE = 1008;
/** Largest websocket message accepted (a record is ≤ 120 + a few KiB in practice). */
const MAX_PAYLOAD_BYTES = 1 << 20;

/** Oldest refusals are forgotten beyond this (a long-running `tunnel emulator` stays bounded). */
const MAX_RECORDED_ERRORS = 1000;

const DATA_CHANNEL_PATH = /^\/v1\/data-channel\/([^/?#]+)$/;

export interface GatewayOptions {
  state: EmulatorState;
  events: EventEmitter<EmulatorEvents>;
  /** Where refused websockets are recorded (`emulator.errors`). */
  errors: EmulatorError[];
  handshakeTimeoutMs?: number;
  resolve?: (host: string) => Promise<string[]>;
}

export class Gateway {
  readonly #o: GatewayOptions;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, GatewaySession>();
  readonly #pendingSockets = new Set<WebSocket>();
  #closed = false;
  #ordinal = 0;

  constructor(options: GatewayOptions) {
    this.#o = options;
    this.#wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PAYLOAD_BYTES });
    options.state.on('session-started', this.#onSessionStarted);
    options.state.on('session-terminated', this.#onSessionTerminated);
  }

  /** The gateway's view of a session (created when StartSession accepted it). */
  session(sessionId: string): GatewaySession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** `server.on('upgrade', gateway.handleUpgrade)`. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    const m = DATA_CHANNEL_PATH.exec(path);
    if (this.#closed || m?.[1] === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const sessionId = decodeURIComponent(m[1]);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, sessionId));
  };

  /** `state.faults` was replaced: live sockets re-arm their timers (dropEveryMs, byeAfterMs). */
  faultsChanged(): void {
    for (const s of this.#sessions.values()) if (!s.isEnded) s.faultsChanged();
  }

  restartAgent(sessionId: string, options?: RestartAgentOptions): void {
    const s = this.#sessions.get(sessionId);
    if (!s) throw new EmulatorError('ERR_EMULATOR_CONFIG', `no session ${sessionId}`);
    s.restartAgent(options);
  }

  /** End every session (channel_closed to attached clients), wait for the sockets, stop. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const { state } = this.#o;
    for (const s of this.#sessions.values()) if (!s.isEnded) state.terminateSession(s.sessionId, '');
    for (const ws of this.#pendingSockets) ws.terminate();
    this.#pendingSockets.clear();
    // Bounded: closeSocket() terminates a silent peer after its grace period.
    await Promise.all([...this.#sessions.values()].map((s) => s.closed()));
    for (const s of this.#sessions.values()) s.destroySockets();
    state.off('session-started', this.#onSessionStarted);
    state.off('session-terminated', this.#onSessionTerminated);
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  // ---------------------------------------------------------------------------------------------

  readonly #onSessionStarted = (session: EmulatedSession): void => {
    this.#ensure(session);
  };

  readonly #onSessionTerminated = (session: EmulatedSession, output: string): void => {
    const s = this.#ensure(session);
    s.end(output);
    // Forget it once its sockets are gone (a late attach is answered from the state).
    void s.closed().then(() => {
      if (this.#sessions.get(session.sessionId) === s && !this.#closed) this.#sessions.delete(session.sessionId);
    });
  };

  #closeEnded(ws: WebSocket, session: EmulatedSession): void {
    const clock = this.#o.state.options.clock;
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(
        encodeChannelClosedRecord({
          sessionId: session.sessionId,
          destinationId: session.target,
          output: session.closeOutput ?? '',
          wallMs: clock.wallNow(),
        }),
      );
      ws.close(1000, '');
    }
    const t = setTimeout(() => ws.terminate(), 1000);
    t.unref();
    ws.once('close', () => clearTimeout(t));
  }

  #ensure(session: EmulatedSession): GatewaySession {
    let s = this.#sessions.get(session.sessionId);
    if (!s) {
      this.#ordinal += 1;
      const opts: ConstructorParameters<typeof GatewaySession>[0] = {
        session,
        state: this.#o.state,
        events: this.#o.events,
        ordinal: this.#ordinal,
      };
      if (this.#o.handshakeTimeoutMs !== undefined) opts.handshakeTimeoutMs = this.#o.handshakeTimeoutMs;
      if (this.#o.resolve) opts.resolve = this.#o.resolve;
      s = new GatewaySession(opts);
      this.#sessions.set(session.sessionId, s);
    }
    return s;
  }

  #onConnection(ws: WebSocket, sessionId: string): void {
    const { state } = this.#o;
    const clock = state.options.clock;
    this.#pendingSockets.add(ws);
    ws.on('error', () => undefined);
    let timer: TimerHandle | undefined = clock.setTimeout(() => {
      timer = undefined;
      this.#refuse(ws, sessionId, 'no OpenDataChannel frame within the time limit');
    }, OPEN_FRAME_TIMEOUT_MS);
    ws.once('close', () => {
      this.#pendingSockets.delete(ws);
      if (timer !== undefined) clock.clearTimeout(timer);
    });
    ws.once('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      this.#pendingSockets.delete(ws);
      if (isBinary) return this.#refuse(ws, sessionId, 'the first frame must be the TEXT OpenDataChannel JSON');
      let open: OpenDataChannelContent;
      try {
        open = decodeOpenDataChannel(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
      } catch (e) {
        return this.#refuse(ws, sessionId, `malformed OpenDataChannel frame: ${(e as Error).message}`);
      }
      const session = state.sessions.get(sessionId);
      if (session === undefined) return this.#refuse(ws, sessionId, 'unknown session');
      if (session.status === 'terminated') {
        // Ended sessions answer with their channel_closed, never with a bare close.
        const live = this.#sessions.get(sessionId);
        if (live) live.attach(ws, open);
        else this.#closeEnded(ws, session);
        return;
      }
      if (!state.checkToken(sessionId, open.tokenValue))
        return this.#refuse(ws, sessionId, 'the token is not valid for this session');
      this.#ensure(session).attach(ws, open);
    });
  }

  #refuse(ws: WebSocket, sessionId: string, why: string): void {
    const err = new EmulatorError('ERR_EMULATOR_BAD_TOKEN', `data channel ${sessionId}: ${why}`, {
      details: { sessionId },
    });
    this.#o.errors.push(err);
    if (this.#o.errors.length > MAX_RECORDED_ERRORS)
      this.#o.errors.splice(0, this.#o.errors.length - MAX_RECORDED_ERRORS);
    this.#o.events.emit('bad-token', err);
    if (ws.readyState === WebSocket.OPEN) ws.close(BAD_TOKEN_CLOSE_CODE, 'invalid token');
    const t = setTimeout(() => ws.terminate(), 1000);
    t.unref();
    ws.once('close', () => clearTimeout(t));
  }
}
