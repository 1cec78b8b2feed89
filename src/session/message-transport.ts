import type { EventEmitter } from 'node:events';

/** The WebSocket as the data channel sees it. Events: 'message'(data, isBinary), 'close'(code, reason), 'error', 'pong', 'drain' (after isFull was true). */
export interface MessageTransport extends EventEmitter {
  sendText(text: string): void;
  sendBinary(frame: Buffer): void;
  ping(): void;
  pause(): void;
  resume(): void;
  close(): void;
  readonly bufferedAmount: number;
  /**
   * True while the transport holds as much as it should (one watermark). A transport that
   * answers true must emit 'drain' once it is below its mark again: the DataChannel does not
   * poll.
   */
  readonly isFull: boolean;
  /**
   * The first error the transport reported, if any, kept for whoever listens later: ws can fail
   * (a message over the size limit) in the same turn as it opens, before a listener is attached.
   */
  readonly error?: Error | undefined;
}
