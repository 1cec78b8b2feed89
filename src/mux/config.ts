/**
 * smux session configuration, after xtaci/smux `Config`/`DefaultConfig`/`VerifyConfig`
 * (docs/mux.md, "Wire format" and "Configuration").
 */
import { MuxError } from '../errors.js';
import { MAX_DATA_BYTES } from '../protocol/smux/frame.js';

export interface MuxConfig {
  /** smux protocol version: 1 (SSM agent and plugin) or 2 (per-stream windows with UPD). */
  version: 1 | 2;
  /** No NOPs and no dead-peer check. INTEROP: the plugin disables keep-alive for agents > 3.1.1511.0. */
  keepAliveDisabled: boolean;
  /** Send a NOP this often. */
  keepAliveIntervalMs: number;
  /** Close the session when no frame arrived within this window. */
  keepAliveTimeoutMs: number;
  /** Largest PSH data this side sends (the receiver accepts up to 65535 regardless). */
  maxFrameBytes: number;
  /** Session-wide receive budget: unread bytes at which the carrier stops being read. */
  maxReceiveBufferBytes: number;
  /** Version 2: the per-stream window advertised in UPD frames. */
  maxStreamBufferBytes: number;
  /** Peer-opened streams kept while nobody listens for 'stream'; beyond that they are reset. */
  acceptBacklog: number;
}

/** xtaci/smux DefaultConfig: v1, keep-alive on (10 s / 30 s), 32768, 4 MiB, 65536, backlog 1024. */
export const DEFAULT_MUX_CONFIG: Readonly<MuxConfig> = Object.freeze({
  version: 1,
  keepAliveDisabled: false,
  keepAliveIntervalMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  maxFrameBytes: 32_768,
  maxReceiveBufferBytes: 4_194_304,
  maxStreamBufferBytes: 65_536,
  acceptBacklog: 1024,
});

/** Merge `partial` over the defaults and check the result; throws MuxError on a bad value. */
export function resolveMuxConfig(partial: Partial<MuxConfig> = {}): MuxConfig {
  const c: MuxConfig = { ...DEFAULT_MUX_CONFIG, ...partial };
  verifyMuxConfig(c);
  return c;
}

/** The checks of xtaci VerifyConfig, with typed codes. */
export function verifyMuxConfig(c: MuxConfig): void {
  const bad = (msg: string): never => {
    throw new MuxError('ERR_SMUX_BAD_CONFIG', msg);
  };
  const positiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (c.version !== 1 && c.version !== 2) bad(`unsupported smux version ${String(c.version)}`);
  if (!c.keepAliveDisabled) {
    if (!(c.keepAliveIntervalMs > 0)) bad('keepAliveIntervalMs must be positive');
    if (!(c.keepAliveTimeoutMs >= c.keepAliveIntervalMs)) bad('keepAliveTimeoutMs must be >= keepAliveIntervalMs');
  }
  if (c.maxFrameBytes > MAX_DATA_BYTES) {
    throw new MuxError('ERR_SMUX_FRAME_TOO_LARGE', `maxFrameBytes ${c.maxFrameBytes} exceeds ${MAX_DATA_BYTES}`);
  }
  if (!positiveInt(c.maxFrameBytes)) bad('maxFrameBytes must be a positive integer');
  if (!positiveInt(c.maxReceiveBufferBytes)) bad('maxReceiveBufferBytes must be a positive integer');
  if (!positiveInt(c.maxStreamBufferBytes) || c.maxStreamBufferBytes > 0xffffffff)
    bad('maxStreamBufferBytes must be a positive uint32');
  if (c.maxStreamBufferBytes > c.maxReceiveBufferBytes)
    bad('maxStreamBufferBytes must not exceed maxReceiveBufferBytes');
  if (!Number.isInteger(c.acceptBacklog) || c.acceptBacklog < 0) bad('acceptBacklog must be a non-negative integer');
}
