/**
 * Shared set-up for the end-to-end fault tests (test/reliability, test/security, bench/soak.ts): emulator (pacing none) + a destination that
 * exchanges independent data both ways + a TunnelManager forward, and sha256-verified transfers.
 *
 * Exchange protocol (full duplex, no half-close, because neither SSM peer propagates one: the
 * agent closes the destination fully on the client's FIN, see docs/mux.md):
 * both sides start sending `bytes` random bytes at once; the destination FINs after it has
 * received the client's `bytes` and sent its own; the client FINs after the destination's FIN.
 * A transfer is correct when, in both directions, the multiset of hashes sent by one side equals
 * the multiset received by the other: a lost, duplicated or reordered byte changes a hash.
 */
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import { createSsmApi, type SsmApi } from '../../src/aws/ssm-api.js';
import { TunnelManager, type TunnelManagerOptions } from '../../src/tunnel/tunnel-manager.js';
import type { Forward } from '../../src/tunnel/forward.js';
import type { ForwardSpec } from '../../src/tunnel/forward-spec.js';
import type { TunnelEvent } from '../../src/tunnel/events.js';
import { seededRandom } from '../../src/tunnel/backoff.js';
import { emulatorAwsSettings, sha, until as untilEvent, type Teardown } from './engine-rig.js';

export { sha, type Teardown };

export const MiB = 1024 * 1024;

export interface ExchangeRecord {
  /** sha256 of the bytes the server sent on this connection. */
  sent: string;
  /** sha256 of what it received, once the client's FIN arrived. */
  received?: string;
  /** Bytes received so far. */
  receivedBytes: number;
  /** The socket errored or closed before the client's FIN. */
  broken: boolean;
}

export interface ExchangeServer {
  port: number;
  /** One record per accepted connection, in accept order. */
  records: ExchangeRecord[];
  server: Server;
}

/** The destination side of the exchange protocol (see the file comment). */
export async function startExchangeServer(t: Teardown, bytes: number): Promise<ExchangeServer> {
  const sockets = new Set<Socket>();
  const out: ExchangeServer = { port: 0, records: [], server: createServer({ allowHalfOpen: true }) };
  out.server.on('connection', (s: Socket) => {
    sockets.add(s);
    const data = randomBytes(bytes);
    const rec: ExchangeRecord = { sent: sha(data), receivedBytes: 0, broken: false };
    out.records.push(rec);
    const h = createHash('sha256');
    let flushed = false;
    const maybeEnd = (): void => {
      if (!flushed || rec.received === undefined || s.writableEnded) return;
      s.end();
    };
    s.on('data', (b: Buffer) => {
      rec.receivedBytes += b.length;
      if (rec.received !== undefined) return; // bytes beyond `bytes`: the hash below is already final
      h.update(b.subarray(0, Math.max(0, b.length - (rec.receivedBytes - bytes))));
      if (rec.receivedBytes >= bytes) {
        rec.received = rec.receivedBytes === bytes ? h.digest('hex') : `overflow:${h.digest('hex')}`;
        out.server.emit('exchange-received');
        maybeEnd();
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      if (rec.received === undefined) rec.broken = true;
    });
    s.write(data, () => {
      flushed = true;
      maybeEnd();
    });
  });
  out.server.listen(0, '127.0.0.1');
  await once(out.server, 'listening');
  const a = out.server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  out.port = a.port;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        out.server.close(() => resolve());
      }),
  );
  return out;
}

export interface ExchangeResult {
  sentSha: string;
  receivedSha: string;
  receivedBytes: number;
  /** The socket ended normally (remote FIN) rather than with an error/reset. */
  clean: boolean;
  error?: string;
}

/** The client side of the exchange protocol: send `bytes`, read until the destination's FIN, then FIN. */
export async function exchange(port: number, bytes: number, host = '127.0.0.1'): Promise<ExchangeResult> {
  const data = randomBytes(bytes);
  const c = connect({ port, host, allowHalfOpen: true });
  const h = createHash('sha256');
  let receivedBytes = 0;
  let ended = false;
  let error: string | undefined;
  c.on('data', (b: Buffer) => {
    receivedBytes += b.length;
    h.update(b);
  });
  c.on('end', () => {
    ended = true;
    c.end();
  });
  c.on('error', (e) => {
    error = e.message;
  });
  // Not events.once(): it would reject on the 'error' that precedes 'close' on a reset.
  const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
  c.write(data);
  await closed;
  const r: ExchangeResult = {
    sentSha: sha(data),
    receivedSha: h.digest('hex'),
    receivedBytes,
    clean: ended && error === undefined,
  };
  if (error !== undefined) r.error = error;
  return r;
}

/** `connections` parallel exchanges of `bytes` per direction each. */
export function exchangeMany(port: number, connections: number, bytes: number): Promise<ExchangeResult[]> {
  return Promise.all(Array.from({ length: connections }, () => exchange(port, bytes)));
}

/** Resolves once `count` connections accepted at or after record `from` have received the client's FIN. */
export async function receivedCount(dest: ExchangeServer, from: number, count: number): Promise<void> {
  const done = (): boolean => dest.records.slice(from).filter((r) => r.received !== undefined).length >= count;
  await until(dest.server, 'exchange-received', done);
}

/** Multisets equal (order-free). */
export function sameHashes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

export async function startEmu(t: Teardown, options: EmulatorOptions = {}): Promise<Emulator> {
  const emu = await startEmulator({ pacing: 'none', seed: 8, ...options });
  t.teardown(() => emu.close());
  return emu;
}

export interface Rig {
  emu: Emulator;
  dest: ExchangeServer;
  manager: TunnelManager;
  forward: Forward;
  events: TunnelEvent[];
  port: number;
}

export interface RigOptions {
  emulator?: EmulatorOptions;
  bytes: number;
  spec?: Partial<ForwardSpec>;
  manager?: Partial<TunnelManagerOptions>;
  /** Wrap the SSM API (e.g. to route stream URLs through a proxy). */
  wrapApi?(api: SsmApi): SsmApi;
}

/** Emulator + exchange destination + a started, ready forward on 127.0.0.1. */
export async function startRig(t: Teardown, o: RigOptions): Promise<Rig> {
  const emu = await startEmu(t, o.emulator);
  const dest = await startExchangeServer(t, o.bytes);
  const aws = emulatorAwsSettings(emu);
  const api = createSsmApi(aws);
  const manager = new TunnelManager({
    aws,
    ssm: o.wrapApi ? o.wrapApi(api) : api,
    random: seededRandom(5),
    backoff: { initialMs: 20, maxMs: 200 },
    ...o.manager,
  });
  const events: TunnelEvent[] = [];
  manager.on('event', (e: TunnelEvent) => events.push(e));
  t.teardown(() => manager.stop());
  const forward = manager.add({
    name: 'rel',
    target: { kind: 'id', id: emu.state.options.instances[0]?.instanceId ?? '' },
    remotePort: dest.port,
    localPort: 'auto',
    bind: ['127.0.0.1'],
    ...o.spec,
  });
  await manager.start();
  if (forward.state !== 'ready')
    throw new Error(`forward not ready: ${forward.state} ${JSON.stringify(forward.error)}`);
  return { emu, dest, manager, forward, events, port: forward.port ?? 0 };
}

/** engine-rig's `until`, with a bound sized for the soak's 64 MiB transfers. */
export function until(emitter: NodeJS.EventEmitter, event: string, pred: () => boolean, max = 100_000): Promise<void> {
  return untilEvent(emitter, event, pred, max);
}

/**
 * Drops the client websocket of every session each time another `everyBytes` of *new* stream
 * payload has been relayed (both directions; retransmissions are not counted, or the resend
 * burst after each resume would trigger the next drop and nothing would ever progress). The
 * emulator's own `dropAfterBytes` fires once per session; this repeats it, through the
 * gateway's socket-destroy hook.
 */
export function dropEveryBytes(emu: Emulator, everyBytes: number): { drops: number } {
  const stat = { drops: 0 };
  const relayed = new Map<string, number>();
  const highest = new Map<string, number>();
  emu.events.on('message', ({ sessionId, dir, message }) => {
    if (message.messageType !== 'input_stream_data' && message.messageType !== 'output_stream_data') return;
    const key = `${sessionId}/${dir}`;
    if (message.sequenceNumber <= (highest.get(key) ?? -1)) return;
    highest.set(key, message.sequenceNumber);
    const n = (relayed.get(sessionId) ?? 0) + message.payloadLength;
    relayed.set(sessionId, n % everyBytes);
    if (n >= everyBytes) {
      stat.drops++;
      // Not from inside the relay callback: the socket is torn down on the next turn.
      setImmediate(() => emu.gatewaySession(sessionId)?.destroySockets());
    }
  });
  return stat;
}
