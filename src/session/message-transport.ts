import type { EventEmitter } from 'node:events';

/** The WebSocket as the data channel sees it. Events: 'message'(data, isBinary), 'close'(code, reason), 'error', 'pong', optional 'drain'. */
export interface MessageTransport extends EventEmitter {
  sendText(text: string): void;
  sendBinary(frame: Buffer): void;
  ping(): void;
  pause(): void;
  resume(): void;
  close(): void;
  readonly bufferedAmount: number;
}
