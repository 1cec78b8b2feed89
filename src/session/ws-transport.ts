/**
 * The WebSocket adapter: the only client-side file that imports `ws`.
 *
 * - URL policy: `wss://` always; plain `ws://` only to a loopback IP (127.0.0.0/8, ::1), or
 *   with `allowInsecure` (ERR_SESSION_INSECURE_URL otherwise). A host *name* such as
 *   `localhost` is not trusted to be loopback.
 * - No permessage-deflate, no subprotocol. The token travels in the first text frame, never in
 *   the upgrade (docs/protocol.md §W1); the only extra headers are the caller's SigV4 ones
 *   (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`: client 1.2.764.0+ signs the
 *   upgrade), never logged or put in an error.
 * - An `agent` (HTTP CONNECT through a proxy) and a `ca` list come from the caller (src/aws/).
 * - HTTP 401/403 on the upgrade is ERR_SESSION_UPGRADE_REFUSED: the service refused the
 *   signature or the URL, and the same request would be refused again.
 * - Backpressure, one watermark: `isFull` is true while `bufferedAmount` ≥ `highWaterBytes`;
 *   once it was, 'drain' is emitted from the first send callback that sees it below the mark
 *   again (every send passes the same bound callback), so the DataChannel can stop producing
 *   while the socket is slow, without polling.
 * - Writes are corked per event-loop turn: every message sent in one turn leaves in one
 *   `writev` (a message is ≤ 1144 bytes, and a syscall per message was the largest single cost
 *   in the CPU profile).
 * - close() ends the TCP connection without a close frame, as both upstream peers do.
 * - A message over 4 MiB (`maxPayload`) is reported as an error ERR_SESSION_MESSAGE_TOO_LARGE
 *   (kept in `error`, and emitted if anyone listens) before the 'close' (1009), so the data
 *   channel can say why the websocket was lost.
 */
import { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import WebSocket from 'ws';
import { SessionError } from '../errors.js';
import type { MessageTransport } from './message-transport.js';
import { isLoopbackIp } from '../loopback.js';
import { wsSocketCorker } from './tick-cork.js';

export interface ConnectWebSocketOptions {
  /** Allow plain ws:// to a non-loopback host (tests against a remote emulator only). */
  allowInsecure?: boolean;
  /** Opening handshake timeout. Default 45 s (upstream's value). */
  handshakeTimeoutMs?: number;
  /** The transport is full while bufferedAmount is at or above this. Default 4 MiB. */
  highWaterBytes?: number;
  /** Extra upgrade headers (the SigV4 signature). Secret: never logged. */
  headers?: Record<string, string>;
  /** Connection agent, e.g. an HTTP CONNECT proxy agent. */
  agent?: Agent;
  /** Trusted CA certificates (PEM) for wss:// when no agent carries them. */
  ca?: string[];
}

/** The largest websocket message accepted from the gateway (ws `maxPayload`); larger closes with 1009. */
export const MAX_WS_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * A ws error as the data channel should see it: a message over `maxPayload` (ws closes with
 * 1009 after it) becomes ERR_SESSION_MESSAGE_TOO_LARGE; anything else is passed on as it is.
 */
export function transportError(e: Error): Error {
  const code: unknown = Reflect.get(e, 'code');
  if (code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return e;
  return new SessionError(
    'ERR_SESSION_MESSAGE_TOO_LARGE',
    `the gateway sent a websocket message larger than ${MAX_WS_MESSAGE_BYTES} bytes (the limit; an SSM record is about 1 KiB), so the websocket was closed (1009, message too big)`,
    { cause: e, details: { limit: MAX_WS_MESSAGE_BYTES } },
  );
}

/** Default websocket send-buffer mark: a transport holding this much is full. */
export const DEFAULT_TRANSPORT_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Throws ERR_SESSION_INSECURE_URL unless `url` may be used. Returns the parsed URL. */
export function checkStreamUrl(url: string, allowInsecure = false): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new SessionError('ERR_SESSION_INSECURE_URL', `StreamUrl is not a valid URL`, { cause: e });
  }
  if (u.protocol === 'wss:') return u;
  if (u.protocol === 'ws:' && (allowInsecure || isLoopbackIp(u.hostname))) return u;
  throw new SessionError(
    'ERR_SESSION_INSECURE_URL',
    `refusing ${u.protocol}//${u.host}: use wss://, plain ws:// is allowed only to 127.0.0.0/8 or ::1`,
    {
      details: { protocol: u.protocol, host: u.hostname },
    },
  );
}

class WsTransport extends EventEmitter implements MessageTransport {
  readonly #ws: WebSocket;
  readonly #high: number;
  /** Corks the socket for the rest of the turn (src/session/tick-cork.ts). */
  readonly #cork: (() => void) | undefined;
  #error: Error | undefined;
  #armed = false;
  readonly #afterSend = (): void => {
    if (this.#armed && this.#ws.bufferedAmount < this.#high) {
      this.#armed = false;
      this.emit('drain');
    }
  };

  constructor(ws: WebSocket, high: number) {
    super();
    this.#ws = ws;
    this.#high = high;
    this.#cork = wsSocketCorker(ws);
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.emit('message', toBuffer(data), isBinary));
    ws.on('pong', () => this.emit('pong'));
    ws.on('error', (e: Error) => {
      const err = transportError(e);
      this.#error ??= err;
      // It can come in the turn the socket opened, before anyone listens: kept in `error` then.
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    ws.on('close', (code: number, reason: Buffer) => this.emit('close', code, reason.toString('utf8')));
  }

  get error(): Error | undefined {
    return this.#error;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get isFull(): boolean {
    if (this.#ws.bufferedAmount < this.#high) return false;
    this.#armed = true;
    return true;
  }

  sendText(text: string): void {
    this.#send(text, false);
  }

  sendBinary(frame: Buffer): void {
    this.#send(frame, true);
  }

  #send(data: string | Buffer, binary: boolean): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return; // lost frames are retransmitted after a resume
    this.#cork?.();
    this.#ws.send(data, SEND_OPTIONS[binary ? 1 : 0], this.#afterSend);
  }

  ping(): void {
    // INTEROP: upstream's ping payload is the 9 bytes "keepalive".
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping('keepalive');
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  close(): void {
    // No close frame: neither upstream peer sends one.
    this.#ws.terminate();
  }
}

// ws reads these per send and never keeps them; one frozen object each saves an allocation.
const SEND_OPTIONS = [
  Object.freeze({ binary: false, compress: false }),
  Object.freeze({ binary: true, compress: false }),
] as const;

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Opens the data-channel WebSocket. Rejects with ERR_SESSION_INSECURE_URL or ERR_SESSION_CONNECT_FAILED. */
export async function connectWebSocket(url: string, options: ConnectWebSocketOptions = {}): Promise<MessageTransport> {
  checkStreamUrl(url, options.allowInsecure === true);
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    // A ClientMessage is a 120-byte header and a payload of at most 1024 bytes (handshake JSON
    // a little more); 4 MiB leaves room for any future payload and stops a peer from making us
    // buffer 100 MiB (ws's default) for one frame.
    maxPayload: MAX_WS_MESSAGE_BYTES,
    handshakeTimeout: options.handshakeTimeoutMs ?? 45_000,
    followRedirects: false,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(options.agent === undefined ? {} : { agent: options.agent }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  return new Promise<MessageTransport>((resolve, reject) => {
    const fail = (what: string, cause?: unknown, status?: number): void => {
      cleanup();
      ws.on('error', () => undefined); // late errors after we gave up must not crash the process
      ws.terminate();
      const host = new URL(url).host;
      if (status === 401 || status === 403) {
        reject(
          new SessionError(
            'ERR_SESSION_UPGRADE_REFUSED',
            `the data channel endpoint ${host} refused the websocket upgrade (HTTP ${status}): ` +
              'its SigV4 signature (service ssmmessages, the session region, current credentials) or the StreamUrl was not accepted',
            { details: { httpStatus: status, host } },
          ),
        );
        return;
      }
      reject(
        new SessionError(
          'ERR_SESSION_CONNECT_FAILED',
          `websocket to ${host} failed: ${what}`,
          cause === undefined ? {} : { cause },
        ),
      );
    };
    const onOpen = (): void => {
      cleanup();
      resolve(new WsTransport(ws, options.highWaterBytes ?? DEFAULT_TRANSPORT_HIGH_WATER_BYTES));
    };
    const onError = (e: Error): void => fail(e.message, e);
    const onUnexpected = (_req: unknown, res: { statusCode?: number }): void =>
      fail(`HTTP ${res.statusCode ?? '?'}`, undefined, res.statusCode);
    const onClose = (): void => fail('closed during the opening handshake');
    const cleanup = (): void => {
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('unexpected-response', onUnexpected);
      ws.off('close', onClose);
    };
    ws.on('open', onOpen);
    ws.on('error', onError);
    ws.on('unexpected-response', onUnexpected);
    ws.on('close', onClose);
  });
}
