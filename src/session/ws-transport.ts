/**
 * The WebSocket adapter: the only client-side file that imports `ws`.
 *
 * - URL policy: `wss://` always; plain `ws://` only to a loopback IP (127.0.0.0/8, ::1), or
 *   with `allowInsecure` (ERR_SESSION_INSECURE_URL otherwise). A host *name* such as
 *   `localhost` is not trusted to be loopback.
 * - No permessage-deflate, no subprotocol. The token travels in the first text frame, never in
 *   the upgrade (ssm-client-protocol.md §3.1); the only extra headers are the caller's SigV4
 *   ones (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`: client 1.2.764.0+ signs the
 *   upgrade), never logged or put in an error.
 * - An `agent` (HTTP CONNECT through a proxy) and a `ca` list come from the caller (src/aws/).
 * - HTTP 401/403 on the upgrade is ERR_SESSION_UPGRADE_REFUSED: the service refused the
 *   signature or the URL, and the same request would be refused again.
 * - Backpressure: every send passes a callback; `bufferedAmount` is exposed, and 'drain' is
 *   emitted when it falls back under `lowWaterBytes` after having been above `highWaterBytes`,
 *   so the DataChannel can stop producing while the socket is slow.
 * - close() ends the TCP connection without a close frame, as both upstream peers do.
 */
import { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import { isIP } from 'node:net';
import WebSocket from 'ws';
import { SessionError } from '../errors.js';
import type { MessageTransport } from './message-transport.js';

export interface ConnectWebSocketOptions {
  /** Allow plain ws:// to a non-loopback host (tests against a remote emulator only). */
  allowInsecure?: boolean;
  /** Opening handshake timeout. Default 45 s (upstream's value). */
  handshakeTimeoutMs?: number;
  /** 'drain' is armed once bufferedAmount reaches this. Default 4 MiB. */
  highWaterBytes?: number;
  /** …and emitted when it falls below this. Default 1 MiB. */
  lowWaterBytes?: number;
  /** Extra upgrade headers (the SigV4 signature). Secret: never logged. */
  headers?: Record<string, string>;
  /** Connection agent, e.g. an HTTP CONNECT proxy agent. */
  agent?: Agent;
  /** Trusted CA certificates (PEM) for wss:// when no agent carries them. */
  ca?: string[];
}

/** True when `host` (URL hostname form) is a loopback IP literal. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const kind = isIP(h);
  if (kind === 4) return h.split('.')[0] === '127';
  if (kind === 6) {
    const lower = h.toLowerCase();
    if (lower === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(lower)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped !== null && mapped[1]?.split('.')[0] === '127';
  }
  return false;
}

/** Throws ERR_SESSION_INSECURE_URL unless `url` may be used. Returns the parsed URL. */
export function checkStreamUrl(url: string, allowInsecure = false): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw new SessionError('ERR_SESSION_INSECURE_URL', `StreamUrl is not a valid URL`, { cause: e });
  }
  if (u.protocol === 'wss:') return u;
  if (u.protocol === 'ws:' && (allowInsecure || isLoopbackHost(u.hostname))) return u;
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
  readonly #low: number;
  #armed = false;

  constructor(ws: WebSocket, high: number, low: number) {
    super();
    this.#ws = ws;
    this.#high = high;
    this.#low = low;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.emit('message', toBuffer(data), isBinary));
    ws.on('pong', () => this.emit('pong'));
    ws.on('error', (e: Error) => this.emit('error', e));
    ws.on('close', (code: number, reason: Buffer) => this.emit('close', code, reason.toString('utf8')));
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  sendText(text: string): void {
    this.#send(text, false);
  }

  sendBinary(frame: Buffer): void {
    this.#send(frame, true);
  }

  #send(data: string | Buffer, binary: boolean): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return; // lost frames are retransmitted after a resume
    this.#ws.send(data, { binary, compress: false }, () => this.#afterSend());
    if (this.#ws.bufferedAmount >= this.#high) this.#armed = true;
  }

  #afterSend(): void {
    if (this.#armed && this.#ws.bufferedAmount < this.#low) {
      this.#armed = false;
      this.emit('drain');
    }
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
    maxPayload: 4 * 1024 * 1024,
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
      resolve(new WsTransport(ws, options.highWaterBytes ?? 4 * 1024 * 1024, options.lowWaterBytes ?? 1024 * 1024));
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
