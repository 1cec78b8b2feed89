/**
 * The destinations the benchmarks talk to, all plain TCP on 127.0.0.1:0. They run in the
 * emulator's child process (never in the tunnel's), behind the emulated instance's ports.
 *
 * Wire formats (all integers big-endian):
 * - source: client sends `seed u32 | size u64`; the service streams the `size` bytes of the
 *   seeded stream (stream-data.ts) with backpressure, then ends.
 * - sink:   client sends `size u64` then `size` bytes; the service hashes them and answers the
 *   32-byte sha256 once all arrived. The client never half-closes first: the agent closes the
 *   destination fully on a client FIN, which would cut the answer off.
 * - echo:   every byte is written back.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { StreamGenerator } from './stream-data.js';

export const SOURCE_REQUEST_BYTES = 12;
export const SINK_HEADER_BYTES = 8;
/** Upper bound on a single request, so a garbled header cannot make a service run away. */
export const MAX_TRANSFER_BYTES = 1 << 30;

export interface BenchServices {
  source: number;
  sink: number;
  echo: number;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1', 4096);
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  return addr.port;
}

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
export function drainOrClose(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

async function streamTo(socket: net.Socket, seed: number, size: number): Promise<void> {
  const gen = new StreamGenerator(seed, size);
  for (let chunk = gen.next(); chunk !== undefined; chunk = gen.next()) {
    if (socket.destroyed) return;
    if (!socket.write(chunk)) {
      await drainOrClose(socket);
    }
  }
  socket.end();
}

function handleSource(socket: net.Socket): void {
  let header = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    header = Buffer.concat([header, chunk]);
    if (header.length < SOURCE_REQUEST_BYTES) return;
    socket.off('data', onData);
    const seed = header.readUInt32BE(0);
    const size = Number(header.readBigUInt64BE(4));
    if (size > MAX_TRANSFER_BYTES) {
      socket.destroy();
      return;
    }
    streamTo(socket, seed, size).catch(() => socket.destroy());
  };
  socket.on('data', onData);
}

function handleSink(socket: net.Socket): void {
  let header = Buffer.alloc(0);
  let size = -1;
  let received = 0;
  let answered = false;
  const hash = createHash('sha256');
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    let body = chunk;
    if (size < 0) {
      header = Buffer.concat([header, chunk]);
      if (header.length < SINK_HEADER_BYTES) return;
      size = Number(header.readBigUInt64BE(0));
      if (size > MAX_TRANSFER_BYTES) {
        socket.destroy();
        return;
      }
      body = header.subarray(SINK_HEADER_BYTES);
    }
    const take = Math.min(body.length, size - received);
    if (take > 0) hash.update(take === body.length ? body : body.subarray(0, take));
    received += take;
    if (received === size) {
      answered = true;
      socket.end(hash.digest());
    }
  });
}

function handleEcho(socket: net.Socket): void {
  socket.pipe(socket);
}

/** Start source, sink and echo on 127.0.0.1 with kernel-chosen ports. */
export async function startBenchServices(): Promise<BenchServices> {
  const sockets = new Set<net.Socket>();
  const make = (handler: (s: net.Socket) => void): net.Server =>
    net.createServer((s) => {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
      handler(s);
    });
  const servers = [make(handleSource), make(handleSink), make(handleEcho)];
  const [source, sink, echo] = await Promise.all(servers.map(listen));
  return {
    source: source ?? 0,
    sink: sink ?? 0,
    echo: echo ?? 0,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
    },
  };
}
