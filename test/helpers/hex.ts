/**
 * Byte helpers for tests.
 *
 * hex`00 00 00 74  # HeaderLength` → Buffer: whitespace and `#` comments (to end of line) are
 * ignored, so fixtures can be annotated one field per line.
 */
export function hex(strings: TemplateStringsArray, ...values: unknown[]): Buffer {
  let text = '';
  strings.forEach((s, i) => {
    text += s;
    if (i < values.length) text += String(values[i]);
  });
  return fromHex(text);
}

/** Parses annotated hex (whitespace and `#` comments ignored). */
export function fromHex(text: string): Buffer {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${clean.slice(0, 40)}`);
  return Buffer.from(clean, 'hex');
}

/** Every two-chunk split of `buf`: [buf[0..i], buf[i..]] for i = 0..length. */
export function* eachSplit(buf: Buffer): Generator<[Buffer, Buffer]> {
  for (let i = 0; i <= buf.length; i++) yield [buf.subarray(0, i), buf.subarray(i)];
}

/** Deterministic test randomness: the project's seeded PRNG. */
export { seededRandom } from '../../src/random.js';

/** Random integer in [0, n) from `rnd`. */
export function randInt(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}

/** `n` random bytes from `rnd`. */
export function randomBytesFrom(rnd: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = randInt(rnd, 256);
  return b;
}

/** Splits `buf` into random chunks (sizes 0..maxChunk) using `rnd`. */
export function randomChunks(buf: Buffer, rnd: () => number, maxChunk = 64): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = randInt(rnd, maxChunk + 1);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}
