/**
 * Randomness as an injected dependency, like time in `clock.ts`: jitter (tunnel backoff),
 * fault injection (emulator) and test data all take a `RandomSource`, so a seed reproduces a run.
 */

/** Floats in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/** mulberry32: a tiny seeded PRNG. Not for secrets; only for reproducible jitter, faults and test data. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
