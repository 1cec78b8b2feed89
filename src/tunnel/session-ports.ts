/**
 * What the engine needs from the layers below, as narrow interfaces. The real implementations
 * are `session/DataChannel` (+ `DataChannelDuplex`) and `mux/MuxSession`, wired in
 * `default-factory.ts`; tests may substitute fakes.
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';

/** Flag payload codes (4-byte big-endian in a PayloadType 10 message). */
export const FLAG_DISCONNECT_TO_PORT = 1;
export const FLAG_TERMINATE_SESSION = 2;
export const FLAG_CONNECT_TO_PORT_ERROR = 3;

/** The handshake facts the engine acts on (a subset of session/HandshakeResult). */
export interface HandshakeInfo {
  agentVersion: string;
  portMode: 'mux' | 'basic' | 'stream';
  smuxKeepAlive: boolean;
  canSendTerminateFlag: boolean;
  customerMessage: string;
}

/**
 * A data channel. Events: 'data'(Buffer), 'drain', 'flag'(code), 'closed'({ output }),
 * 'reconnecting', 'reconnected', 'error'(Error with a `code`).
 */
export interface ChannelPort extends EventEmitter {
  open(): Promise<HandshakeInfo>;
  sendData(buf: Buffer): boolean;
  sendFlag(code: number): void;
  pauseReceiving(): void;
  resumeReceiving(): void;
  terminate(): Promise<void>;
  close(): void;
}

/** One smux stream. */
export interface MuxStreamPort extends Duplex {
  /**
   * True when the peer really sent FIN (the data is complete); false when the stream only ended
   * because its session went away. Absent: every end counts as a FIN.
   */
  readonly finReceived?: boolean;
}

/** An smux client session. Events: 'close'(err?). */
export interface MuxPort extends EventEmitter {
  openStream(): MuxStreamPort;
  close(err?: Error): void;
  readonly isClosed: boolean;
  /** A slow reader holds (or is about to hold) the session: give it no new streams. */
  readonly stalled?: boolean;
}

export interface ChannelInit {
  streamUrl: string;
  /** Secret. */
  tokenValue: string;
  sessionId: string;
  targetId: string;
  clock: Clock;
  /**
   * ClientVersion to report; undefined = the data channel's default. Set to a pre-smux
   * version for agents known (from DescribeInstanceInformation) to predate smux, so that an
   * agent deciding on our version agrees with our choice of basic mode.
   */
  clientVersion?: string;
  /** Jitter source for the channel's reconnect delays (the engine's injected random). */
  random?: () => number;
  /**
   * ResumeSession → new token and the StreamUrl it returned ('' = keep the current one), or
   * undefined when the session is gone.
   */
  resume: () => Promise<{ tokenValue: string; streamUrl: string } | undefined>;
}

export interface SessionFactory {
  createChannel(init: ChannelInit): ChannelPort;
  createMux(channel: ChannelPort, options: { keepAlive: boolean; clock: Clock }): MuxPort;
}
