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
