/**
 * Round-trip time and retransmission timeout, RFC 6298 in shape, with the constants both
 * upstream peers use (docs/protocol.md §W5):
 *
 * ```
 * initial  SRTT = 100 ms, RTTVAR = 0, RTO = 200 ms
 * sample r RTTVAR = 3/4 · RTTVAR + 1/4 · |SRTT − r|     (old SRTT)
 *          SRTT   = 7/8 · SRTT   + 1/8 · r
 *          RTO    = min(SRTT + max(10 ms, 4 · RTTVAR), 1000 ms)
 * ```
 *
 * Pure: the caller measures `r` and feeds it in. Example from the docs: a first sample of 50 ms
 * gives RTTVAR 12.5, SRTT 93.75, RTO 143.75.
 */
export const DEFAULT_RTT_MS = 100;
export const DEFAULT_RTT_VARIATION_MS = 0;
export const DEFAULT_RTO_MS = 200;
export const RTT_GAIN = 1 / 8;
export const RTT_VARIATION_GAIN = 1 / 4;
export const CLOCK_GRANULARITY_MS = 10;
export const MAX_RTO_MS = 1000;

export class RttEstimator {
  #srtt = DEFAULT_RTT_MS;
  #rttvar = DEFAULT_RTT_VARIATION_MS;
  #rto = DEFAULT_RTO_MS;

  /** Smoothed round-trip time, ms. */
  get srttMs(): number {
    return this.#srtt;
  }
  /** Round-trip time variation, ms. */
  get rttVariationMs(): number {
    return this.#rttvar;
  }
  /** Current retransmission timeout, ms. */
  get rtoMs(): number {
    return this.#rto;
  }

  /** Feeds one round-trip sample in ms (negative samples, e.g. from a clock step, count as 0). */
  update(sampleMs: number): void {
    const r = Math.max(0, sampleMs);
    this.#rttvar = (1 - RTT_VARIATION_GAIN) * this.#rttvar + RTT_VARIATION_GAIN * Math.abs(this.#srtt - r);
    this.#srtt = (1 - RTT_GAIN) * this.#srtt + RTT_GAIN * r;
    this.#rto = Math.min(this.#srtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.#rttvar), MAX_RTO_MS);
  }
}
