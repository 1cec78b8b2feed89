import type { Clock, TimerHandle } from '../../src/clock.js';

interface PendingTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A deterministic clock for state-machine tests. Time only moves when the test calls
 * `advance(ms)`; due timers fire in deadline order (ties in creation order), and timers
 * scheduled by a firing timer fire too if they fall due within the same advance.
 */
export class FakeClock implements Clock {
  #now = 0;
  #wallBase: number;
  #nextId = 1;
  #timers = new Map<number, PendingTimer>();

  constructor(wallBase = 1_700_000_000_000) {
    this.#wallBase = wallBase;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#wallBase + this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: unknown }).id;
    if (typeof id === 'number') this.#timers.delete(id);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }
}
