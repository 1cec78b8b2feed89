/**
 * Seeded fuzzing harness shared by `test/fuzz/*.test.ts` (50,000 cases in CI) and
 * `bench/fuzz.ts` (`npm run fuzz`: 1,000,000 cases).
 *
 * Every case gets its own PRNG seeded from (run seed, case index), so a failing case is
 * reproduced alone with `npm run fuzz -- --target <name> --case <index> --seed <seed>`.
 * A case passes when it returns normally or throws a `TunnelError` whose code starts with one
 * of the target's allowed prefixes; anything else (a TypeError, a RangeError, an untyped
 * throw, a broken invariant reported with `FuzzFailure`) is a failure. Cases are synchronous:
 * a case that loops forever would hang the run, so every target bounds its own loops, and the
 * harness records the slowest case so a near-hang shows up as a number.
 */
import { TunnelError } from '../../src/errors.js';

/** xorshift128+ PRNG: fast, seeded, deterministic; floats in [0, 1). */
export class Prng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number) {
    // splitmix32 expands one seed into four non-zero state words.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next() || 1;
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
  }

  /** 32 random bits (xoshiro128**). */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#s1 << 9) >>> 0;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3 >>> 0, 11);
    this.#s0 >>>= 0;
    this.#s1 >>>= 0;
    this.#s2 >>>= 0;
    return r;
  }

  float(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  /** A canonical random UUID (8-4-4-4-12 lower-case hex). */
  uuid(): string {
    const h = this.bytes(16).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Mixes a run seed and a case index into one case seed (so cases are independent). */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/** Values that sit on the boundaries codecs check (lengths, u32 edges, sign bits). */
const INTERESTING_U32 = [
  0, 1, 7, 8, 115, 116, 117, 119, 120, 1023, 1024, 1025, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];

/**
 * One random structural mutation of `base` (never modifies `base`): byte flips, bit flips,
 * truncation, extension, a boundary value written over 1/2/4 bytes (both endians), a slice
 * duplicated or removed, or two inputs spliced.
 */
export function mutate(rng: Prng, base: Buffer, other?: Buffer): Buffer {
  const b = Buffer.from(base);
  switch (rng.int(9)) {
    case 0:
      for (let i = 0, n = 1 + rng.int(4); i < n && b.length > 0; i++) b[rng.int(b.length)] = rng.u32() & 0xff;
      return b;
    case 1:
      for (let i = 0, n = 1 + rng.int(3); i < n && b.length > 0; i++) {
        const at = rng.int(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << rng.int(8));
      }
      return b;
    case 2:
      return b.subarray(0, rng.int(b.length + 1));
    case 3:
      return Buffer.concat([b, rng.bytes(1 + rng.int(32))]);
    case 4: {
      const v = rng.pick(INTERESTING_U32);
      const width = rng.pick([1, 2, 4] as const);
      if (b.length < width) return b;
      const at = rng.int(b.length - width + 1);
      if (width === 1) b[at] = v & 0xff;
      else if (width === 2) (rng.chance(0.5) ? b.writeUInt16BE : b.writeUInt16LE).call(b, v & 0xffff, at);
      else (rng.chance(0.5) ? b.writeUInt32BE : b.writeUInt32LE).call(b, v >>> 0, at);
      return b;
    }
    case 5: {
      if (b.length === 0) return b;
      const at = rng.int(b.length);
      const len = 1 + rng.int(Math.min(64, b.length - at));
      return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
    }
    case 6: {
      if (b.length === 0) return b;
      const at = rng.int(b.length);
      const len = 1 + rng.int(Math.min(64, b.length - at));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
    }
    case 7: {
      const o = other ?? b;
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), o.subarray(rng.int(o.length + 1))]);
    }
    default:
      return rng.bytes(rng.int(2 * b.length + 2));
  }
}

/** Splits `buf` into random chunks of 0..maxChunk bytes (zero-length chunks included on purpose). */
export function randomSplit(rng: Prng, buf: Buffer, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = rng.int(maxChunk + 1);
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** An invariant a target checks itself (never a typed error, always a failure). */
export class FuzzFailure extends Error {}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new FuzzFailure(message);
}

export interface FuzzTarget {
  readonly name: string;
  /** Relative share of the cases (default 1). */
  readonly weight?: number;
  /** TunnelError code prefixes that count as a correct rejection (e.g. 'ERR_SSM_'). */
  readonly allowed: readonly string[];
  /**
   * One case. Returns an outcome label for the statistics ('ok', 'accepted', …). A target that
   * drives Node streams returns a promise and lets the event loop turn inside the case.
   */
  run(rng: Prng, index: number): string | Promise<string>;
}

export interface FuzzFailureRecord {
  target: string;
  index: number;
  seed: number;
  error: string;
}

export interface TargetStats {
  cases: number;
  outcomes: Record<string, number>;
  slowestCaseMs: number;
  totalMs: number;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  elapsedMs: number;
  targets: Record<string, TargetStats>;
  failures: FuzzFailureRecord[];
  heapUsedBefore: number;
  heapUsedAfter: number;
}

export interface FuzzRunOptions {
  seed: number;
  cases: number;
  /** Stop recording after this many failures (default 20). */
  maxFailures?: number;
  /** Called every `progressEvery` cases (bench progress line). */
  onProgress?(done: number, report: FuzzReport): void;
  progressEvery?: number;
  /** Run only case `only` (reproduction). */
  only?: number;
}

/** Case `index` of the run goes to the target its weight says (deterministic, stable per seed). */
export function targetFor(targets: readonly FuzzTarget[], index: number): FuzzTarget {
  const total = targets.reduce((s, t) => s + (t.weight ?? 1), 0);
  let slot = (index * 7919) % total;
  for (const t of targets) {
    slot -= t.weight ?? 1;
    if (slot < 0) return t;
  }
  return targets[targets.length - 1] as FuzzTarget;
}

/** Lets timers, I/O callbacks and process.nextTick work queued by earlier cases run. */
export function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `cases` cases over `targets`; never throws for a case failure (see `report.failures`). */
export async function runFuzz(targets: readonly FuzzTarget[], options: FuzzRunOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    seed: options.seed,
    cases: 0,
    elapsedMs: 0,
    targets: {},
    failures: [],
    heapUsedBefore: process.memoryUsage().heapUsed,
    heapUsedAfter: 0,
  };
  for (const t of targets) report.targets[t.name] = { cases: 0, outcomes: {}, slowestCaseMs: 0, totalMs: 0 };
  const maxFailures = options.maxFailures ?? 20;
  const started = performance.now();
  const first = options.only ?? 0;
  const last = options.only ?? options.cases - 1;
  for (let i = first; i <= last; i++) {
    const target = targetFor(targets, i);
    const stats = report.targets[target.name] as TargetStats;
    const seed = caseSeed(options.seed, i);
    const t0 = performance.now();
    let outcome: string;
    try {
      const r = target.run(new Prng(seed), i);
      outcome = typeof r === 'string' ? r : await r;
    } catch (e) {
      if (e instanceof TunnelError && !(e instanceof FuzzFailure) && target.allowed.some((p) => e.code.startsWith(p))) {
        outcome = e.code;
      } else {
        outcome = 'FAILURE';
        if (report.failures.length < maxFailures) {
          const error =
            e instanceof Error
              ? `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`
              : String(e);
          report.failures.push({ target: target.name, index: i, seed: options.seed, error });
        }
      }
    }
    const ms = performance.now() - t0;
    stats.cases++;
    stats.totalMs += ms;
    if (ms > stats.slowestCaseMs) stats.slowestCaseMs = ms;
    stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
    report.cases++;
    if (options.onProgress && options.progressEvery && report.cases % options.progressEvery === 0)
      options.onProgress(report.cases, report);
    // Stream work deferred by a case (nextTick, setImmediate) must not pile up across cases.
    if (report.cases % 256 === 0) await turnEventLoop();
  }
  await turnEventLoop();
  report.elapsedMs = performance.now() - started;
  report.heapUsedAfter = process.memoryUsage().heapUsed;
  return report;
}

/** One line per target: cases, outcome counts, slowest case. */
export function formatReport(r: FuzzReport): string {
  const lines = [
    `seed ${r.seed}: ${r.cases} cases in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.failures.length} failures`,
  ];
  for (const [name, s] of Object.entries(r.targets)) {
    const outcomes = Object.entries(s.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(
      `  ${name}: ${s.cases} cases in ${(s.totalMs / 1000).toFixed(1)} s, slowest ${s.slowestCaseMs.toFixed(1)} ms; ${outcomes}`,
    );
  }
  for (const f of r.failures) lines.push(`  FAIL ${f.target} case ${f.index} (seed ${f.seed}): ${f.error}`);
  return lines.join('\n');
}
