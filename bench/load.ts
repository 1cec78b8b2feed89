/**
 * The driver's side of every workload: download from the source, upload to the sink, echo
 * round trips, and many concurrent echo connections. Every transfer is sha256-verified against
 * the seeded stream (stream-data.ts); a mismatch is a failed run, never a number.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { expectedDigest, StreamGenerator, streamBytes } from './stream-data.js';
import { drainOrClose, SINK_HEADER_BYTES, SOURCE_REQUEST_BYTES } from './services.js';

export interface TransferResult {
  bytes: number;
  ms: number;
  MBps: number;
}

export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}

const HOST = '127.0.0.1';

async function connect(port: number, timeoutMs: number): Promise<net.Socket> {
  const socket = net.connect({ host: HOST, port });
  socket.setNoDelay(true);
  const timer = setTimeout(() => socket.destroy(new BenchFailure(`connect to ${port} timed out`)), timeoutMs);
  try {
    await once(socket, 'connect');
  } finally {
    clearTimeout(timer);
  }
  return socket;
}

/** Runs `fn` on a socket, destroying it (and failing) after `timeoutMs`. */
async function bounded<T>(socket: net.Socket, timeoutMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const timer = setTimeout(
    () => socket.destroy(new BenchFailure(`${what} timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

function toResult(bytes: number, startNs: bigint): TransferResult {
  const ms = Number(process.hrtime.bigint() - startNs) / 1e6;
  return { bytes, ms, MBps: bytes / 1e6 / (ms / 1000) };
}

/** Download `size` bytes of stream `seed` from a source service reachable at `port`. */
export async function download(port: number, seed: number, size: number, timeoutMs: number): Promise<TransferResult> {
  const want = expectedDigest(seed, size);
  const socket = await connect(port, timeoutMs);
  return bounded(socket, timeoutMs, `download of ${size} bytes`, async () => {
    const req = Buffer.alloc(SOURCE_REQUEST_BYTES);
    req.writeUInt32BE(seed, 0);
    req.writeBigUInt64BE(BigInt(size), 4);
    const hash = createHash('sha256');
    let got = 0;
    const start = process.hrtime.bigint();
    const done = new Promise<TransferResult>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        const take = Math.min(chunk.length, size - got);
        hash.update(take === chunk.length ? chunk : chunk.subarray(0, take));
        got += take;
        if (got === size) resolve(toResult(size, start));
      });
      socket.on('close', () => reject(new BenchFailure(`download closed after ${got} of ${size} bytes`)));
      socket.on('error', reject);
    });
    socket.write(req);
    const result = await done;
    const digest = hash.digest('hex');
    if (digest !== want) throw new BenchFailure(`download sha256 mismatch (seed ${seed}, ${size} bytes)`);
    return result;
  });
}

/** Upload `size` bytes of stream `seed` to a sink service; the sink's sha256 must match. */
export async function upload(port: number, seed: number, size: number, timeoutMs: number): Promise<TransferResult> {
  const want = expectedDigest(seed, size);
  const socket = await connect(port, timeoutMs);
  return bounded(socket, timeoutMs, `upload of ${size} bytes`, async () => {
    let answer = Buffer.alloc(0);
    let closed = false;
    const start = process.hrtime.bigint();
    const reply = new Promise<TransferResult>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        answer = Buffer.concat([answer, chunk]);
        if (answer.length >= 32) resolve(toResult(size, start));
      });
      socket.on('close', () => {
        closed = true;
        reject(new BenchFailure(`upload: sink closed before answering`));
      });
      socket.on('error', reject);
    });
    reply.catch(() => undefined); // observed below; avoid an unhandled rejection while writing
    const header = Buffer.alloc(SINK_HEADER_BYTES);
    header.writeBigUInt64BE(BigInt(size), 0);
    socket.write(header);
    const gen = new StreamGenerator(seed, size);
    for (let chunk = gen.next(); chunk !== undefined && !closed; chunk = gen.next()) {
      if (!socket.write(chunk)) await drainOrClose(socket);
    }
    const result = await reply;
    if (answer.subarray(0, 32).toString('hex') !== want)
      throw new BenchFailure(`upload sha256 mismatch (seed ${seed})`);
    return result;
  });
}

/**
 * `count` sequential round trips of `size`-byte messages through an echo service on one
 * connection, after `warmup` unmeasured ones. Each echo is compared byte for byte.
 * Returns the round-trip times in milliseconds.
 */
export async function echoRoundTrips(
  port: number,
  count: number,
  size: number,
  warmup: number,
  timeoutMs: number,
): Promise<number[]> {
  const socket = await connect(port, timeoutMs);
  return bounded(socket, timeoutMs, `${count} echoes`, async () => {
    const total = count + warmup;
    const payload = streamBytes(7, size * total);
    const times: number[] = [];
    let pending:
      { want: Buffer; got: Buffer[]; n: number; resolve: () => void; reject: (e: Error) => void } | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (pending === undefined) return;
      pending.got.push(chunk);
      pending.n += chunk.length;
      if (pending.n >= pending.want.length) {
        const p = pending;
        pending = undefined;
        if (p.n !== p.want.length || !Buffer.concat(p.got).equals(p.want)) p.reject(new BenchFailure('echo mismatch'));
        else p.resolve();
      }
    });
    const closed = new Promise<never>((_, reject) => {
      socket.on('close', () => reject(new BenchFailure('echo connection closed')));
      socket.on('error', reject);
    });
    closed.catch(() => undefined);
    for (let i = 0; i < total; i++) {
      const want = payload.subarray(i * size, (i + 1) * size);
      const start = process.hrtime.bigint();
      const echoed = new Promise<void>((resolve, reject) => {
        pending = { want, got: [], n: 0, resolve, reject };
      });
      socket.write(want);
      await Promise.race([echoed, closed]);
      if (i >= warmup) times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times;
  });
}

export interface ManyConnsResult {
  verified: number;
  failed: number;
  ms: number;
  firstError?: string;
}

/**
 * `conns` connections open at the same time through one forward to an echo service; each
 * writes `bytes` of its own stream, then must read the same bytes back (sha256-compared)
 * before any of them closes. Returns how many verified.
 */
export async function manyEchoConnections(
  port: number,
  conns: number,
  bytes: number,
  timeoutMs: number,
): Promise<ManyConnsResult> {
  const start = process.hrtime.bigint();
  const sockets: net.Socket[] = [];
  const deadline = setTimeout(() => {
    for (const s of sockets) s.destroy(new BenchFailure('1000-connection test timed out'));
  }, timeoutMs);
  let verified = 0;
  let failed = 0;
  let firstError: string | undefined;
  let release: () => void = () => undefined;
  const allEchoed = new Promise<void>((r) => (release = r));
  let echoed = 0;
  const one = async (i: number): Promise<void> => {
    const data = streamBytes(1000 + i, bytes);
    const want = createHash('sha256').update(data).digest('hex');
    const socket = net.connect({ host: HOST, port });
    sockets.push(socket);
    const hash = createHash('sha256');
    let got = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on('connect', () => socket.write(data));
        socket.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          got += chunk.length;
          if (got >= bytes) resolve();
        });
        socket.on('error', reject);
        socket.on('close', () => reject(new BenchFailure(`connection ${i} closed after ${got} bytes`)));
      });
      if (got !== bytes || hash.digest('hex') !== want) throw new BenchFailure(`connection ${i}: echo mismatch`);
      verified++;
    } catch (e) {
      failed++;
      firstError ??= e instanceof Error ? e.message : String(e);
    }
    // Hold every connection open until all have their echo, so all `conns` are concurrent.
    if (++echoed === conns) release();
    await allEchoed;
    socket.destroy();
  };
  try {
    await Promise.all(Array.from({ length: conns }, (_, i) => one(i)));
  } finally {
    clearTimeout(deadline);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return firstError === undefined ? { verified, failed, ms } : { verified, failed, ms, firstError };
}
