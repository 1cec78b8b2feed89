import type { Clock } from '../clock.js';
import type { KmsHandshakeHandler } from './handshake.js';
import type { MessageTransport } from './message-transport.js';

/** Options of the client `DataChannel` (src/session/data-channel.ts). */
export interface DataChannelOptions {
  streamUrl: string;
  tokenValue: string;
  sessionId: string;
  targetId: string;
  /** Per-process UUID, the same on every reconnect. Default: a random UUID. */
  clientId?: string;
  /** Default '1.2.677.0': current agents then use smux with keep-alive off. */
  clientVersion?: string;
  clock?: Clock;
  /** Default: the ws transport (src/session/ws-transport.ts). */
  connect?(url: string): Promise<MessageTransport>;
  /** ResumeSession → new token; undefined or '' = the session is gone. */
  resume(): Promise<string | undefined>;
  /** Optional KMS encryption (issue #9). */
  kms?: KmsHandshakeHandler;
  /** From the websocket open to HandshakeComplete. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** WebSocket ping period. Default 10 s (upstream: first at open, then 5 min); must stay well below deadPeerTimeoutMs. */
  pingIntervalMs?: number;
  /** No pong or message for this long after a ping → the connection is dropped and resumed. Default 25 s (issue #8: a dead peer is detected within 30 s). */
  deadPeerTimeoutMs?: number;
  // ---- additions for tests and tuning ----
  /** UUID source for RequestIds and MessageIds. Default crypto.randomUUID. */
  newId?(): string;
  /** Resends of one message before ERR_SESSION_RESEND_EXHAUSTED. Default 3000. */
  maxResends?: number;
  /** Unacked-message window. Default 10000. */
  windowMessages?: number;
  /** The websocket is full (sendData returns false) at this many queued bytes. Default 4 MiB. */
  transportHighWaterBytes?: number;
  /** Random source for reconnect jitter. Default Math.random. */
  random?(): number;
  /** How long terminate() waits for the Flag's ack. Default 2 s. */
  terminateAckTimeoutMs?: number;
}
