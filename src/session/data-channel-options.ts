import type { Clock } from '../clock.js';
import type { KmsHandshakeHandler } from './handshake.js';
import type { Agent } from 'node:http';
import type { MessageTransport } from './message-transport.js';
import type { ReconnectBackoffOptions } from './reconnect-policy.js';

/** ResumeSession's answer: a new token and (since 2026) a new StreamUrl; '' = keep the old URL. */
export interface ResumeGrant {
  tokenValue: string;
  streamUrl?: string;
}

/** Per-connect additions to the websocket upgrade, computed just before each connect. */
export interface ConnectExtras {
  /** SigV4 headers of the upgrade GET (secret: never logged). */
  headers?: Record<string, string>;
  /** HTTP CONNECT proxy agent. */
  agent?: Agent;
  /** Trusted CA certificates (PEM) for wss://. */
  ca?: string[];
}

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
  /**
   * ResumeSession → new token (and StreamUrl, used for the reconnect when not empty);
   * undefined or '' = the session is gone.
   */
  resume(): Promise<string | ResumeGrant | undefined>;
  /** Called before every connect of the default ws transport with the URL about to be opened. */
  prepareConnect?(url: string): Promise<ConnectExtras>;
  /** Optional KMS encryption (issue #9). */
  kms?: KmsHandshakeHandler;
  /** From the websocket open to HandshakeComplete. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** WebSocket ping period. Default 10 s (upstream: first at open, then 5 min); must stay well below deadPeerTimeoutMs. */
  pingIntervalMs?: number;
  /** No pong or message for this long after a ping → the connection is dropped and resumed. Default 25 s (issue #8: a dead peer is detected within 30 s). */
  deadPeerTimeoutMs?: number;
  // ---- additions for tests and tuning ----
  /** UUID source for RequestIds and MessageIds. Default crypto.randomUUID (RequestIds) and random MessageId bytes (`randomMessageId`). */
  newId?: () => string;
  /** Resends of one message before ERR_SESSION_RESEND_EXHAUSTED. Default 3000. */
  maxResends?: number;
  /** Unacked-message window. Default 10000. */
  windowMessages?: number;
  /** Inbound byte budget: Output payload bytes held while the consumer is not reading. Default 32 MiB. */
  receiveBudgetBytes?: number;
  /** The websocket is full (sendData returns false) at this many queued bytes. Default 4 MiB. */
  transportHighWaterBytes?: number;
  /** Resume schedule across drops (session/reconnect-policy.ts ReconnectBackoff). */
  reconnectBackoff?: ReconnectBackoffOptions;
  /** Random source for reconnect jitter. Default Math.random. */
  random?: () => number;
  /** How long terminate() waits for the Flag's ack. Default 2 s. */
  terminateAckTimeoutMs?: number;
}
