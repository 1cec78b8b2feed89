/**
 * Time as an injected dependency. State machines (data channel, mux, tunnel engine,
 * emulator agent) never call `setTimeout` or `Date.now` themselves: they take a `Clock`,
 * so tests drive them with `test/helpers/fake-clock.ts` and never sleep.
 */

/** Opaque handle returned by `Clock.setTimeout`. */
export type TimerHandle = object;

export interface Clock {
  /** Monotonic milliseconds, for durations (RTT, RTO, idle and keep-alive timers). */
  now(): number;
  /** Unix epoch milliseconds, for wire timestamps such as CreatedDate. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. Timers are unref'd: a pending retransmit or keep-alive timer must never
 * by itself keep a process alive after everything else has closed.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
