/**
 * The retry schedule upstream uses for the first WebSocket open and for reconnects
 * (plugin `src/retry/retryer.go`; docs/protocol.md §W11): at most 5 retries (6 calls),
 * first delay d random in [100, 199] ms, doubling; a delay above 5 s resets to d.
 * Sleeps go through the injected clock.
 */
import type { Clock } from '../clock.js';

export interface ReconnectPolicyOptions {
  maxRetries?: number;
  initialDelayMs?: number;
  jitterMs?: number;
  factor?: number;
  maxDelayMs?: number;
}

export class ReconnectPolicy {
  readonly #clock: Clock;
  readonly #maxRetries: number;
  readonly #factor: number;
  readonly #maxDelayMs: number;
  readonly #firstDelayMs: number;
  #retries = 0;
  #nextDelayMs: number;

  constructor(clock: Clock, random: () => number = Math.random, o: ReconnectPolicyOptions = {}) {
    this.#clock = clock;
    this.#maxRetries = o.maxRetries ?? 5;
    this.#factor = o.factor ?? 2;
    this.#maxDelayMs = o.maxDelayMs ?? 5000;
    this.#firstDelayMs = (o.initialDelayMs ?? 100) + Math.floor(random() * (o.jitterMs ?? 100));
    this.#nextDelayMs = this.#firstDelayMs;
  }

  /** Retries used so far. */
  get retries(): number {
    return this.#retries;
  }

  /** The delays this policy will use, in order (for tests and logs). */
  plannedDelaysMs(): number[] {
    const out: number[] = [];
    let d = this.#firstDelayMs;
    for (let i = 0; i < this.#maxRetries; i++) {
      out.push(d);
      d = d * this.#factor > this.#maxDelayMs ? this.#firstDelayMs : d * this.#factor;
    }
    return out;
  }

  /** Sleeps before the next attempt. Resolves false (at once) when no retries are left. */
  async wait(): Promise<boolean> {
    if (this.#retries >= this.#maxRetries) return false;
    this.#retries++;
    const d = this.#nextDelayMs;
    this.#nextDelayMs = d * this.#factor > this.#maxDelayMs ? this.#firstDelayMs : d * this.#factor;
    await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, d));
    return true;
  }
}

export interface ReconnectBackoffOptions {
  /** Consecutive attempts without a healthy connection before giving up. Default 6 (1 + 5 retries, as upstream). */
  maxAttempts?: number;
  /** Delay before the second attempt; each later one doubles. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap on one delay. Default 10 s. */
  maxDelayMs?: number;
  /** 0..1: the fraction of each delay that is random (0.5 → [d/2, d]). Default 0.5. */
  jitter?: number;
  /** A connection that stays up this long is healthy: the schedule starts over. Default 10 s. */
  healthyAfterMs?: number;
}

/** The documented defaults (docs/reliability.md, "Reconnect backoff"). */
export const RECONNECT_BACKOFF_DEFAULTS: Required<ReconnectBackoffOptions> = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  jitter: 0.5,
  healthyAfterMs: 10_000,
};

/**
 * The schedule for resuming a data channel whose websocket dropped, kept across drops.
 *
 * Upstream starts a fresh retry schedule on every drop, so a gateway that accepts the websocket
 * and closes it at once gets ResumeSession → connect → close → ResumeSession … with no growing
 * delay (thousands of calls a minute, for ever). Here the attempt count survives reconnects and
 * is reset only once a connection has stayed up for `healthyAfterMs` or carried new data
 * (`madeProgress`): the first attempt after a
 * healthy connection is immediate, then delays double from `baseDelayMs` up to `maxDelayMs`
 * (each jittered), and after `maxAttempts` attempts without a healthy connection `wait()`
 * answers false: the caller gives the session up (the forward replaces it under its own backoff).
 */
export class ReconnectBackoff {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #o: Required<ReconnectBackoffOptions>;
  #attempts = 0;
  #healthyTimer: ReturnType<Clock['setTimeout']> | undefined;
  /** The sleep in progress, so that stop() can end it without leaving a timer behind. */
  #sleep: { timer: ReturnType<Clock['setTimeout']>; wake: () => void } | undefined;

  constructor(clock: Clock, random: () => number = Math.random, o: ReconnectBackoffOptions = {}) {
    this.#clock = clock;
    this.#random = random;
    this.#o = { ...RECONNECT_BACKOFF_DEFAULTS, ...o };
  }

  /** Attempts made since the last healthy connection. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Delay before attempt number `n` (0-based) since the last healthy connection. */
  delayMs(n: number): number {
    if (n <= 0) return 0;
    const base = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * Math.pow(2, n - 1));
    const r = Math.min(Math.max(this.#random(), 0), 0.999999);
    return Math.round(base * (1 - this.#o.jitter) + base * this.#o.jitter * r);
  }

  /** Sleeps before the next attempt. Resolves false (at once) when the attempts are used up. */
  async wait(): Promise<boolean> {
    this.disconnected();
    if (this.#attempts >= this.#o.maxAttempts) return false;
    const d = this.delayMs(this.#attempts);
    this.#attempts++;
    if (d > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(() => {
          this.#sleep = undefined;
          resolve();
        }, d);
        this.#sleep = { timer, wake: resolve };
      });
    }
    return true;
  }

  /** The channel closed: no timer stays behind, and a sleep in progress ends now. */
  stop(): void {
    this.disconnected();
    const sleep = this.#sleep;
    this.#sleep = undefined;
    if (sleep !== undefined) {
      this.#clock.clearTimeout(sleep.timer);
      sleep.wake();
    }
  }

  /** A connection is up: if it stays up for `healthyAfterMs`, the schedule starts over. */
  connected(): void {
    this.disconnected();
    this.#healthyTimer = this.#clock.setTimeout(() => {
      this.#healthyTimer = undefined;
      this.#attempts = 0;
    }, this.#o.healthyAfterMs);
  }

  /**
   * The connection that just dropped carried new data (in-order messages delivered, or our own
   * messages acked): it was healthy, whatever its age. A gateway that accepts the websocket and
   * closes it at once carries none, so its schedule keeps growing.
   */
  madeProgress(): void {
    this.disconnected();
    this.#attempts = 0;
  }

  /** The connection dropped (or the channel closed): it did not become healthy. */
  disconnected(): void {
    if (this.#healthyTimer !== undefined) this.#clock.clearTimeout(this.#healthyTimer);
    this.#healthyTimer = undefined;
  }
}
