/**
 * Deterministic pseudo-random byte streams for the benchmarks. A stream is named by
 * (seed, size): the AES-128-CTR keystream of a key derived from the seed. The source service
 * and the driver generate the same bytes independently, so the driver can sha256-verify a
 * download without the data ever being shipped out of band. AES-CTR runs at GB/s in OpenSSL,
 * so generation never limits a loopback measurement.
 */
import { createCipheriv, createHash } from 'node:crypto';

/** Chunk size the generators hand out (64 KiB, the usual socket write size). */
export const CHUNK_BYTES = 64 * 1024;

const ZEROS = Buffer.alloc(CHUNK_BYTES);

function keyFor(seed: number): Buffer {
  return createHash('sha256').update(`tunnel-bench-${seed}`).digest().subarray(0, 16);
}

/** Yields `size` bytes of the seeded stream in chunks of at most CHUNK_BYTES. */
export class StreamGenerator {
  readonly #cipher: ReturnType<typeof createCipheriv>;
  #remaining: number;

  constructor(seed: number, size: number) {
    this.#cipher = createCipheriv('aes-128-ctr', keyFor(seed), Buffer.alloc(16));
    this.#remaining = size;
  }

  get remaining(): number {
    return this.#remaining;
  }

  /** Next chunk, or undefined when the stream is exhausted. Each chunk is a fresh Buffer. */
  next(): Buffer | undefined {
    if (this.#remaining <= 0) return undefined;
    const n = Math.min(CHUNK_BYTES, this.#remaining);
    this.#remaining -= n;
    return this.#cipher.update(n === CHUNK_BYTES ? ZEROS : ZEROS.subarray(0, n));
  }
}

const digestCache = new Map<string, string>();

/** sha256 (hex) of the seeded stream of `size` bytes; cached per (seed, size). */
export function expectedDigest(seed: number, size: number): string {
  const key = `${seed}:${size}`;
  const hit = digestCache.get(key);
  if (hit !== undefined) return hit;
  const h = createHash('sha256');
  const g = new StreamGenerator(seed, size);
  for (let c = g.next(); c !== undefined; c = g.next()) h.update(c);
  const hex = h.digest('hex');
  digestCache.set(key, hex);
  return hex;
}

/** The whole seeded stream as one Buffer (for small payloads: echo messages, 1000-conn test). */
export function streamBytes(seed: number, size: number): Buffer {
  const parts: Buffer[] = [];
  const g = new StreamGenerator(seed, size);
  for (let c = g.next(); c !== undefined; c = g.next()) parts.push(c);
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, size);
}
