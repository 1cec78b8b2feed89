/**
 * Output pacing of the emulated agent.
 *
 * The real agent (3.3.1142.0, `port_mux.go` / `port_basic.go`) reads its mux pipe or the
 * destination socket in reads of at most `StreamDataPayloadSize` = 1024 bytes, sends each read as
 * one `output_stream_data` Output message, and sleeps 1 ms per read loop. That caps one session at
 * roughly 1 MB/s per direction, which is what users see against AWS. The emulator reproduces it by
 * default (profile `agent`) so that benchmarks and tests do not promise speeds the service never
 * gives; profile `none` sends as fast as the reliable link's window allows (fast tests).
 *
 * Time comes from the injected `Clock` (the emulator is an edge adapter, but its timers are still
 * driven by the clock so tests with a fake clock stay deterministic).
 */
import type { Clock, TimerHandle } from '../clock.js';

export type PacingProfile = 'agent' | 'none';

/** Largest stream payload either upstream peer generates (`StreamDataPayloadSize`). */
export const STREAM_DATA_PAYLOAD_BYTES = 1024;

/** The agent's sleep per read loop iteration, in milliseconds. */
export const AGENT_READ_PAUSE_MS = 1;

/** Split `buf` into views of at most `maxBytes` bytes (no copies). Empty input gives no chunks. */
export function chunkPayload(buf: Buffer, maxBytes: number = STREAM_DATA_PAYLOAD_BYTES): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; off += maxBytes)
    out.push(buf.subarray(off, Math.min(buf.length, off + maxBytes)));
  return out;
}

/**
 * Decides when the next Output message may go out.
 *
 * `afterOutput(next)` is called once an Output message has been handed to the link; it runs
 * `next` when the profile allows the following one: after `AGENT_READ_PAUSE_MS` on the clock for
 * `agent`, synchronously for `none` (returns true to say "go on now").
 */
export class Pacer {
  readonly profile: PacingProfile;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;

  constructor(profile: PacingProfile, clock: Clock) {
    this.profile = profile;
    this.#clock = clock;
  }

  /** True while a pause is pending (nothing may be sent). */
  get isWaiting(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Account for one Output message just sent. Returns true when the caller may send the next one
   * immediately; otherwise `next` is called when the pause is over.
   */
  afterOutput(next: () => void): boolean {
    if (this.profile === 'none') return true;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      next();
    }, AGENT_READ_PAUSE_MS);
    return false;
  }

  /** Cancel a pending pause (session closing). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
