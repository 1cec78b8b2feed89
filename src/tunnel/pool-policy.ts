/**
 * How many sessions a forward keeps: the pool's bounds and the decision to grow.
 *
 * Why a pool at all: the agent paces each session (one 1024-byte message per read loop with a
 * 1 ms sleep, about 1 MB/s), and smux v1 has no per-stream window, so one session is both a
 * throughput cap and a single queue that one slow reader can stall. Several sessions give
 * several of each. Why a cap: every session is a worker process (`ssm-session-worker`) on the
 * instance, and StartSession is an API call with its own rate limit. Default `auto`: 1..4.
 *
 * Pure decisions (no timers, no I/O): the pool calls `sessionsToStart` with a snapshot.
 */

/** `sessions` as the user gives it: a fixed count, `'auto'`, or bounds for the automatic pool. */
export type SessionsSetting = number | 'auto' | { min: number; max: number };

export interface PoolBounds {
  min: number;
  max: number;
  /** Grows with the load (auto or min/max); false for a fixed count. */
  adaptive: boolean;
}

/** `sessions: auto` (the default): at least one session, at most four. */
export const DEFAULT_AUTO_SESSIONS = { min: 1, max: 4 } as const;

/** Auto mode: open another session when the live ones carry more than this many connections each. */
export const CONNECTIONS_PER_SESSION = 4;

export function poolBounds(setting: SessionsSetting | undefined): PoolBounds {
  if (setting === undefined || setting === 'auto') return { ...DEFAULT_AUTO_SESSIONS, adaptive: true };
  if (typeof setting === 'number') {
    const n = Math.max(1, Math.floor(setting));
    return { min: n, max: n, adaptive: false };
  }
  const min = Math.max(0, Math.floor(setting.min));
  const max = Math.max(1, min, Math.floor(setting.max));
  return { min, max, adaptive: min !== max };
}

export interface PoolSnapshot {
  /** Ready sessions. */
  live: number;
  starting: number;
  /** Ready sessions that may take a new connection now (not stalled; basic: not busy). */
  available: number;
  /** Connections waiting for a session. */
  pending: number;
  /** Connections being carried. */
  active: number;
  basic: boolean;
  /** Lazy forward with nothing to carry: the floor is 0. */
  idle: boolean;
}

/**
 * Sessions to start now (before rate limiting). Mux: the floor (`min`); adaptive pools also
 * one session per CONNECTIONS_PER_SESSION connections, and one more while every session is
 * stalled (before the next connection arrives: it should not wait for a StartSession). Basic:
 * one session per waiting connection. Never above `max` (basic, fixed count: `maxBasic`).
 */
export function sessionsToStart(b: PoolBounds, s: PoolSnapshot, maxBasic: number): number {
  const have = s.live + s.starting;
  const floor = s.idle ? 0 : b.min - have;
  if (s.basic) {
    // Adaptive pools keep their bound; a fixed count is the spare floor, capped by maxBasic.
    const cap = b.adaptive ? b.max : Math.max(b.max, maxBasic);
    const need = s.pending - s.available - s.starting;
    return Math.max(0, Math.min(cap - have, Math.max(need, floor)));
  }
  let want = floor;
  if (b.adaptive) {
    // One session per CONNECTIONS_PER_SESSION connections (the agent paces each session).
    want = Math.max(want, Math.ceil((s.active + s.pending) / CONNECTIONS_PER_SESSION) - have);
    // Every session stalled: the next connection needs a fresh one (before it arrives).
    if (s.live > 0 && s.available === 0 && s.starting === 0) want = Math.max(want, 1);
  }
  return Math.max(0, Math.min(b.max - have, want));
}

/**
 * Whether a ready, unstalled session may take one more connection: an adaptive pool that can
 * still grow keeps each session to CONNECTIONS_PER_SESSION (the next connection waits for the
 * session being started for it); at its bound, or with nothing starting, any session will do.
 */
export function acceptsMore(b: PoolBounds, load: number, canGrow: boolean): boolean {
  return !b.adaptive || !canGrow || load < CONNECTIONS_PER_SESSION;
}

/**
 * StartSession rate limit: a token bucket on the injected clock. `burst` starts at once, then
 * one per `intervalMs`.
 */
export class StartRateLimiter {
  readonly #burst: number;
  readonly #intervalMs: number;
  #tokens: number;
  #at: number;

  constructor(now: number, burst = 4, intervalMs = 1000) {
    this.#burst = burst;
    this.#intervalMs = intervalMs;
    this.#tokens = burst;
    this.#at = now;
  }

  #refill(now: number): void {
    const n = Math.floor((now - this.#at) / this.#intervalMs);
    if (n <= 0) return;
    this.#tokens = Math.min(this.#burst, this.#tokens + n);
    this.#at = this.#tokens === this.#burst ? now : this.#at + n * this.#intervalMs;
  }

  /** Take one start; false = wait `msUntilNext(now)`. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens <= 0) return false;
    this.#tokens--;
    return true;
  }

  msUntilNext(now: number): number {
    this.#refill(now);
    return this.#tokens > 0 ? 0 : Math.max(1, this.#at + this.#intervalMs - now);
  }
}
