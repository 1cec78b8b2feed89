/**
 * Retry delays for fresh sessions: exponential with full-range jitter, capped. Randomness is
 * injected (a seeded generator in tests) so schedules are reproducible.
 */

import type { RandomSource } from '../random.js';

export { seededRandom, type RandomSource } from '../random.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the fraction of each delay that is randomised (0.5 → delay in [d/2, d]). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: RandomSource): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  const r = Math.min(Math.max(random(), 0), 0.999999);
  return Math.round(base * (1 - policy.jitter) + base * policy.jitter * r);
}
