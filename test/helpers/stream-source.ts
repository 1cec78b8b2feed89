/**
 * A download source for tests: a client sends `seed u32 | size u64` (big-endian) and the server
 * streams `size` bytes of the seeded AES-128-CTR keystream with backpressure, then ends (FIN).
 * `download()` reads one such stream through any port and tells how it ended: complete and
 * sha256-identical, reset (ECONNRESET), or ended cleanly but short / different (the lie a
 * client reading to EOF would believe).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { startLoopbackServer, type LoopbackServer, type Teardown } from './loopback.js';

const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

function cipherFor(seed: number) {
  const key = createHash('sha256').update(`tunnel-test-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}

/** sha256 of the first `size` bytes of stream `seed`. */
export function expectedSha(seed: number, size: number): string {
  const c = cipherFor(seed);
  const h = createHash('sha256');
  for (let left = size; left > 0; left -= CHUNK) h.update(c.update(left >= CHUNK ? ZEROS : ZEROS.subarray(0, left)));
  return h.digest('hex');
}

export function startStreamSource(t: Teardown): Promise<LoopbackServer> {
  return startLoopbackServer(t, (s) => {
    let head = Buffer.alloc(0);
    const onData = (b: Buffer): void => {
      head = Buffer.concat([head, b]);
      if (head.length < 12) return;
      s.off('data', onData);
      const seed = head.readUInt32BE(0);
      const size = Number(head.readBigUInt64BE(4));
      if (size > 2 ** 31) return void s.destroy();
      const c = cipherFor(seed);
      let left = size;
      const pump = (): void => {
        while (left > 0 && !s.destroyed) {
          const n = Math.min(CHUNK, left);
          left -= n;
          if (!s.write(c.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n)))) return void s.once('drain', pump);
        }
        if (!s.destroyed) s.end();
      };
      pump();
    };
    s.on('data', onData);
  });
}

export type DownloadEnd = 'complete' | 'reset' | 'short' | 'corrupt' | 'error';

export interface Download {
  socket: Socket;
  /** Bytes received so far. */
  received(): number;
  done: Promise<{ end: DownloadEnd; bytes: number; code?: string; sha: string }>;
}

/** Request `size` bytes of stream `seed` through `port`; the hash is computed as bytes arrive. */
export function download(port: number, seed: number, size: number): Download {
  // allowHalfOpen: after an early EOF the socket stays writable for the probe below.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const h = createHash('sha256');
  let bytes = 0;
  let code: string | undefined;
  const req = Buffer.alloc(12);
  req.writeUInt32BE(seed, 0);
  req.writeBigUInt64BE(BigInt(size), 4);
  socket.write(req);
  socket.on('data', (b: Buffer) => {
    bytes += b.length;
    h.update(b);
  });
  socket.on('error', (e: NodeJS.ErrnoException) => (code = e.code ?? 'error'));
  let ended = false;
  socket.on('end', () => {
    ended = true;
    if (bytes === size) {
      socket.end();
      return;
    }
    // Node's libuv (before 1.52, libuv#4992) reports a TCP reset that arrives while data is still
    // unread as a clean EOF (POLLHUP + partial read). Tell the two apart the way the kernel does:
    // after a FIN the socket is half-open and a write succeeds; after a reset it fails.
    socket.write(Buffer.alloc(1), (err) => {
      if (err !== undefined && err !== null && code === undefined)
        code = (err as NodeJS.ErrnoException).code ?? 'error';
      socket.destroy();
    });
  });
  const done = new Promise<{ end: DownloadEnd; bytes: number; code?: string; sha: string }>((resolve) => {
    socket.on('close', () => {
      const sha = h.digest('hex');
      if (code !== undefined)
        resolve({ end: code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'error', bytes, code, sha });
      else if (!ended) resolve({ end: 'error', bytes, sha });
      else if (bytes !== size) resolve({ end: 'short', bytes, sha });
      else resolve({ end: sha === expectedSha(seed, size) ? 'complete' : 'corrupt', bytes, sha });
    });
  });
  return { socket, received: () => bytes, done };
}
