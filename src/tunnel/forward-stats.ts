/**
 * A forward's statistics: connection counts, bytes each way and a rate over the last status
 * interval. Plain counters, updated in place (nothing allocated per chunk).
 */
export class ForwardStats {
  active = 0;
  total = 0;
  failed = 0;
  bytesIn = 0;
  bytesOut = 0;
  reconnects = 0;
  /** Sessions opened over the forward's life (StartSession calls that completed a handshake). */
  sessionsOpened = 0;
  #rate = { t: 0, bytesIn: 0, bytesOut: 0, inBps: 0, outBps: 0 };

  constructor(now: number) {
    this.#rate.t = now;
  }

  /** Bytes per second each way, recomputed when at least a second has passed since the last call. */
  rates(now: number): { inBps: number; outBps: number } {
    const dt = now - this.#rate.t;
    if (dt >= 1000) {
      this.#rate = {
        t: now,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        inBps: Math.round(((this.bytesIn - this.#rate.bytesIn) * 1000) / dt),
        outBps: Math.round(((this.bytesOut - this.#rate.bytesOut) * 1000) / dt),
      };
    }
    return { inBps: this.#rate.inBps, outBps: this.#rate.outBps };
  }
}
