/** What a Forward is given by its manager: clients, policy and shared state (see forward.ts). */
import type { Clock } from '../clock.js';
import type { SsmApi } from '../aws/ssm-api.js';
import type { BackoffPolicy, RandomSource } from './backoff.js';
import type { TunnelEvent } from './events.js';
import type { LoginHook } from './accounts.js';
import type { SessionFactory } from './session-ports.js';

export interface ForwardDeps {
  api: SsmApi;
  factory: SessionFactory;
  clock: Clock;
  random: RandomSource;
  backoff: BackoffPolicy;
  /** Transient start failures tolerated before the first ready (then `failed`). */
  startAttempts: number;
  probeTimeoutMs: number;
  /** Spare idle sessions above the pool's floor are terminated after this long. */
  basicSpareLingerMs: number;
  /** Basic mode with a fixed `sessions` count: at most this many sessions at once. */
  maxBasicSessions: number;
  /** Connections waiting for a session; beyond this new ones are refused. */
  maxPending: number;
  /**
   * A session that lived this long was healthy: the retry backoff starts over. A session that
   * dies younger (connect, immediate close, failed resumes) is replaced under growing backoff.
   * Default 10 s.
   */
  healthyAfterMs?: number;
  /** Secrets to scrub from events (shared by every forward of a manager). */
  secrets: Set<string>;
  /** Issue #15: profile-based credentials; refused credentials park the forward in `needs-login`. */
  login?: LoginHook;
  emit(event: TunnelEvent): void;
}
