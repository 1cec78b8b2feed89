/**
 * A forward's sessions: the ones starting and the ready ones, which session takes a new
 * connection, when to open another (pool-policy.ts, rate-limited) and when to close a spare.
 *
 * A TCP connection never moves between sessions. New connections go to the least-loaded
 * session that is ready and not stalled (a session whose slow reader has used up its smux
 * budget, or is about to, gets none: see MuxSession.stalled). Spare sessions above the floor
 * are terminated after `spareLingerMs` without connections.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { SsmApi } from '../aws/ssm-api.js';
import type { HandshakeInfo, SessionFactory } from './session-ports.js';
import {
  acceptsMore,
  poolBounds,
  sessionsToStart,
  StartRateLimiter,
  type PoolBounds,
  type SessionsSetting,
} from './pool-policy.js';
import { TunnelSession, type SessionEnd } from './tunnel-session.js';

export interface SessionPoolOptions {
  api: SsmApi;
  factory: SessionFactory;
  clock: Clock;
  random: () => number;
  sessions: SessionsSetting | undefined;
  /** Spare idle sessions above the floor are terminated after this long. */
  spareLingerMs: number;
  /** Basic mode with a fixed count: at most this many sessions. */
  maxBasicSessions: number;
  onSecret: (secret: string) => void;
  /** Hooks into the forward (events, state). */
  onStarting(s: TunnelSession): void;
  /** The session completed its handshake; return false to have it terminated (forward done). */
  onStarted(s: TunnelSession, hs: HandshakeInfo): Promise<boolean>;
  onStartFailed(err: unknown): void;
  onEnded(s: TunnelSession, end: SessionEnd): void;
  /** A session's connection count changed (or the rate limiter allows another start). */
  onLoad(): void;
}

export interface SessionTarget {
  instanceId: string;
  remotePort: number;
  remoteHost?: string;
  reason?: string;
}

export class SessionPool {
  readonly bounds: PoolBounds;
  readonly #o: SessionPoolOptions;
  readonly #limiter: StartRateLimiter;
  #sessions: TunnelSession[] = [];
  readonly #starting = new Set<TunnelSession>();
  readonly #jobs = new Set<Promise<void>>();
  readonly #spareTimers = new Map<TunnelSession, TimerHandle>();
  #limitTimer: TimerHandle | undefined;
  #closed = false;

  constructor(o: SessionPoolOptions) {
    this.#o = o;
    this.bounds = poolBounds(o.sessions);
    this.#limiter = new StartRateLimiter(o.clock.now(), Math.max(4, this.bounds.min));
  }

  /** Ready sessions. */
  get live(): TunnelSession[] {
    return this.#sessions.filter((s) => s.ready);
  }
  get startingCount(): number {
    return this.#starting.size;
  }
  /** Sessions still starting (StartSession, websocket, handshake). */
  get starting(): TunnelSession[] {
    return [...this.#starting];
  }
  /** Sessions that exist at all (ready, ending or starting). */
  get size(): number {
    return this.#sessions.length + this.#starting.size;
  }
  get stalledCount(): number {
    let n = 0;
    for (const s of this.#sessions) if (s.ready && s.stalled) n++;
    return n;
  }

  /**
   * The least-loaded ready session that may take a connection now, or undefined: then the
   * connection waits for a session being started (a saturated adaptive pool that can grow), or
   * for a stalled session to catch up. A pool at its bound with nothing starting and every mux
   * session stalled has nothing to wait for: the connection shares the least-loaded stalled
   * session and moves at its slow reader's pace (smux v1 has no per-stream window), instead of
   * hanging until that reader finishes.
   */
  pick(): TunnelSession | undefined {
    let best: TunnelSession | undefined;
    for (const s of this.#sessions) if (s.hasCapacity && (best === undefined || s.load < best.load)) best = s;
    if (best === undefined) return this.#starting.size === 0 ? this.#sharedStalled() : undefined;
    // Wait for a session only while one is actually starting: nothing starting, take this one.
    const canGrow = this.#starting.size > 0;
    if (best.mode === 'mux' && !acceptsMore(this.bounds, best.load, canGrow)) return undefined;
    this.#clearSpare(best);
    return best;
  }

  #sharedStalled(): TunnelSession | undefined {
    const live = this.live;
    if (live.length < this.bounds.max) return undefined;
    let best: TunnelSession | undefined;
    for (const s of live) if (s.mode === 'mux' && (best === undefined || s.load < best.load)) best = s;
    if (best !== undefined) this.#clearSpare(best);
    return best;
  }

  /** Start sessions as the policy wants, within the StartSession rate limit. */
  grow(target: SessionTarget, demand: { pending: number; active: number; idle: boolean }): void {
    if (this.#closed) return;
    const live = this.live;
    const want = sessionsToStart(
      this.bounds,
      {
        live: live.length,
        starting: this.#starting.size,
        available: live.filter((s) => s.hasCapacity).length,
        pending: demand.pending,
        active: demand.active,
        basic: live.some((s) => s.mode === 'basic'),
        idle: demand.idle,
      },
      this.#o.maxBasicSessions,
    );
    for (let i = 0; i < want; i++) {
      const now = this.#o.clock.now();
      if (!this.#limiter.take(now)) {
        // Come back when the bucket has a token (the forward re-evaluates on onLoad).
        if (this.#limitTimer === undefined)
          this.#limitTimer = this.#o.clock.setTimeout(() => {
            this.#limitTimer = undefined;
            this.#o.onLoad();
          }, this.#limiter.msUntilNext(now));
        return;
      }
      this.#start(target);
    }
  }

  #start(target: SessionTarget): void {
    const o = this.#o;
    const s = new TunnelSession({
      api: o.api,
      factory: o.factory,
      clock: o.clock,
      targetId: target.instanceId,
      remotePort: target.remotePort,
      ...(target.remoteHost === undefined ? {} : { remoteHost: target.remoteHost }),
      ...(target.reason === undefined ? {} : { reason: target.reason }),
      random: o.random,
      onSecret: o.onSecret,
    });
    this.#starting.add(s);
    o.onStarting(s);
    const job = this.#run(s).finally(() => this.#jobs.delete(job));
    this.#jobs.add(job);
  }

  async #run(s: TunnelSession): Promise<void> {
    let hs: HandshakeInfo;
    try {
      hs = await s.start();
    } catch (err) {
      this.#starting.delete(s);
      if (!this.#closed) this.#o.onStartFailed(err);
      return;
    } finally {
      this.#starting.delete(s);
    }
    if (this.#closed) {
      await s.terminate();
      return;
    }
    this.#sessions.push(s);
    s.on('end', (end: SessionEnd) => {
      this.#sessions = this.#sessions.filter((x) => x !== s);
      this.#clearSpare(s);
      this.#o.onEnded(s, end);
    });
    s.on('load', (n: number) => {
      if (n === 0) this.#armSpare(s);
      this.#o.onLoad();
    });
    if (!(await this.#o.onStarted(s, hs))) return;
    if (s.load === 0) this.#armSpare(s);
  }

  /** A session without connections, above the floor: terminate it after the linger. */
  #armSpare(s: TunnelSession): void {
    if (this.#closed || this.#spareTimers.has(s)) return;
    if (this.#sessions.length <= this.bounds.min) return;
    this.#spareTimers.set(
      s,
      this.#o.clock.setTimeout(() => {
        this.#spareTimers.delete(s);
        if (s.load === 0 && !this.#closed && this.#sessions.filter((x) => x.ready).length > this.bounds.min)
          void s.terminate('idle');
      }, this.#o.spareLingerMs),
    );
  }

  #clearSpare(s: TunnelSession): void {
    const t = this.#spareTimers.get(s);
    if (t !== undefined) this.#o.clock.clearTimeout(t);
    this.#spareTimers.delete(s);
  }

  /** Lazy idle close: terminate every ready session (the pool stays usable). */
  closeIdle(): string[] {
    const sessions = this.#sessions.splice(0);
    for (const s of sessions) {
      this.#clearSpare(s);
      void s.terminate('idle');
    }
    return sessions.map((s) => s.sessionId);
  }

  /** Stop everything: TerminateSession for every session, started or starting. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#limitTimer !== undefined) this.#o.clock.clearTimeout(this.#limitTimer);
    this.#limitTimer = undefined;
    for (const t of this.#spareTimers.values()) this.#o.clock.clearTimeout(t);
    this.#spareTimers.clear();
    const sessions = [...this.#sessions, ...this.#starting];
    this.#sessions = [];
    return Promise.all([...sessions.map((s) => s.terminate()), ...this.#jobs]).then(() => undefined);
  }
}
