/**
 * A forward: one local port (on one or more addresses) kept alive over a pool of sessions.
 *
 * States: idle → starting → ready ⇄ reconnecting → stopped, or → failed (permanent errors,
 * not retried; other forwards keep running). The listener stays up while sessions come and
 * go: a dead session's connections are reset and counted, and a fresh session replaces it
 * (immediately, then with backoff + jitter while starts keep failing or sessions keep dying
 * young).
 *
 * This file is the forward's admission (accept, wait for a session, attach) and its state;
 * the sessions and the policy for how many live in session-pool.ts / pool-policy.ts, the
 * counters in forward-stats.ts.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { TimerHandle } from '../clock.js';
import { AwsError, ForwardError, isTunnelError, type TunnelError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { Connection } from './connection.js';
import { ForwardStats } from './forward-stats.js';
import {
  scrubSecrets,
  type ForwardState,
  type ForwardStatus,
  type TunnelEvent,
  type TunnelEventType,
} from './events.js';
import { DEFAULT_SESSION_IDLE_CLOSE_MS, describeTargetRef, type ForwardSpec } from './forward-spec.js';
import { TunnelListener } from './listener.js';
import { isCredentialsCode, LoginPause, needsLoginMessage } from './needs-login.js';
import { resolveTarget, type ResolvedTarget } from './target.js';
import { SessionPool } from './session-pool.js';
import type { ForwardDeps } from './forward-deps.js';
import type { HandshakeInfo } from './session-ports.js';
import { isPermanentCode, sessionEndError, type SessionEnd, type TunnelSession } from './tunnel-session.js';

export type { ForwardDeps } from './forward-deps.js';

/** While connections wait and every session is stalled, look again this often. */
const STALLED_RECHECK_MS = 250;
/** Adaptive pools with connections: re-evaluate the pool this often (a stall announces nothing). */
const POOL_TICK_MS = 500;
export const DEFAULT_HEALTHY_AFTER_MS = 10_000;

export class Forward extends EventEmitter {
  readonly spec: ForwardSpec;
  readonly #d: ForwardDeps;
  #state: ForwardState = 'idle';
  #error: TunnelError | undefined;
  /** The last session start failure while the forward retries (cleared when it is ready again). */
  #lastFailure: TunnelError | undefined;

  /**
   * Why the forward is not ready yet, in words: what its starting sessions wait for (StartSession,
   * the handshake, with malformed records dropped) and the last start failure. Undefined when
   * there is nothing to say. Shown when the readiness deadline passes, so that a gateway sending
   * garbage or no handshake is named even without --verbose.
   */
  progress(): string | undefined {
    const waiting = this.#pool.starting.map((s) => s.progress()).find((p) => p !== undefined);
    const last = this.#lastFailure;
    const parts = [
      ...(waiting === undefined ? [] : [waiting]),
      ...(last === undefined ? [] : [`last attempt failed: ${last.code}: ${last.message}`]),
    ];
    return parts.length === 0 ? undefined : parts.join('; ');
  }
  #target: ResolvedTarget | undefined;
  readonly #listener: TunnelListener;
  readonly #pool: SessionPool;
  readonly #stats: ForwardStats;
  #pending: Connection[] = [];
  readonly #conns = new Set<Connection>();
  #everReady = false;
  #startFailures = 0;
  #retryAttempt = 0;
  #retryTimer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  #healthyTimer: TimerHandle | undefined;
  #recheckTimer: TimerHandle | undefined;
  #poolTimer: TimerHandle | undefined;
  #nextConnId = 1;
  #readyWaiters: Array<() => void> = [];
  /** Issue #15: the wait for a new sign-in, when credentials come from a profile. */
  readonly #loginPause: LoginPause | undefined;

  constructor(spec: ForwardSpec, deps: ForwardDeps) {
    super();
    this.spec = spec;
    this.#d = deps;
    this.#loginPause = deps.login === undefined ? undefined : new LoginPause(deps.login);
    this.#listener = new TunnelListener({
      ...(spec.bind === undefined ? {} : { bind: spec.bind }),
      port: spec.localPort,
      ...(spec.allowBusyFallback === undefined ? {} : { allowBusyFallback: spec.allowBusyFallback }),
      onConnection: (s) => this.#accept(s),
    });
    this.#stats = new ForwardStats(deps.clock.now());
    this.#pool = new SessionPool({
      api: deps.api,
      factory: deps.factory,
      clock: deps.clock,
      random: deps.random,
      sessions: spec.sessions,
      spareLingerMs: deps.basicSpareLingerMs,
      maxBasicSessions: deps.maxBasicSessions,
      onSecret: (secret) => this.#d.secrets.add(secret),
      onStarting: () => this.#event('session-starting', { instanceId: this.#target?.instanceId ?? '' }),
      onStarted: (s, hs) => this.#onStarted(s, hs),
      onStartFailed: (err) => this.#onStartFailure(err),
      onEnded: (s, end) => this.#onSessionEnd(s, end),
      onLoad: () => this.#onLoad(),
    });
  }

  get name(): string {
    return this.spec.name;
  }
  get state(): ForwardState {
    return this.#state;
  }
  /** Why the last attempt to start a session failed, while the forward retries; undefined once ready. */
  get lastFailure(): TunnelError | undefined {
    return this.#lastFailure;
  }

  /** Why the forward failed: the typed error itself (its code, message and cause). */
  get error(): TunnelError | undefined {
    return this.#error;
  }
  get addresses(): Array<{ address: string; port: number }> {
    return this.#listener.addresses;
  }
  get port(): number | undefined {
    return this.#listener.addresses[0]?.port;
  }

  /** Resolve the target, bind, and (eager) open sessions. Resolves once ready or failed. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return this.#settled();
    this.#setState('starting');
    try {
      this.#target = await resolveTarget(this.#d.api, this.spec.target);
      this.#event('target-resolved', {
        target: describeTargetRef(this.spec.target),
        instanceId: this.#target.instanceId,
      });
      if (this.#isDone()) return;
      const res = await this.#listener.listen();
      if (this.#isDone()) {
        await this.#listener.close();
        return;
      }
      for (const w of res.warnings) this.#event('warning', { message: w });
      this.#event('listening', { addresses: res.addresses, port: res.port, fellBack: res.fellBack });
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (this.spec.lazy === true) {
      this.#markReady();
      return;
    }
    this.#grow();
    return this.#settled();
  }

  /**
   * Stop accepting, TerminateSession for every open session (their connections are reset),
   * let connections whose remote side already ended cleanly flush; bounded by `deadlineMs`,
   * after which whatever is left is reset.
   */
  async stop(deadlineMs = 1800): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasFailed = this.#state === 'failed';
    this.#clearTimers();
    this.#state = 'stopped';
    const listenerClosed = this.#listener.close();
    for (const c of [...this.#pending]) c.abort();
    const flushed = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.#conns.size === 0) resolve();
        else this.once('conn-closed', check);
      };
      check();
    });
    const work = Promise.all([listenerClosed, this.#pool.close(), flushed]).then(() => undefined);
    await new Promise<void>((resolve) => {
      const timer = this.#d.clock.setTimeout(resolve, deadlineMs);
      void work.then(() => {
        this.#d.clock.clearTimeout(timer);
        resolve();
      });
    });
    for (const c of this.#conns) c.forceReset();
    if (!wasFailed) this.#error = undefined;
    this.#event('forward-state', { state: 'stopped' });
    this.#wakeWaiters();
    this.emit('state', 'stopped');
  }

  status(): ForwardStatus {
    const now = this.#d.clock.now();
    const rate = this.#stats.rates(now);
    const live = this.#pool.live;
    const st: ForwardStatus = {
      name: this.spec.name,
      state: this.#state,
      addresses: this.#listener.addresses,
      // IPv6 literals in brackets, as in a URL: `[fd00::5]:5432`, not `fd00::5:5432`.
      remote: `${hostForDisplay(this.spec.remoteHost ?? 'localhost')}:${this.spec.remotePort}`,
      connections: { active: this.#stats.active, total: this.#stats.total, failed: this.#stats.failed },
      bytesIn: this.#stats.bytesIn,
      bytesOut: this.#stats.bytesOut,
      rateInBps: rate.inBps,
      rateOutBps: rate.outBps,
      sessions: live.map((s) => ({
        sessionId: s.sessionId,
        agentVersion: s.handshake?.agentVersion ?? '',
        mode: s.mode,
        ageMs: now - s.startedAt,
        connections: s.load,
        stalled: s.stalled,
      })),
      pool: {
        sessions: live.length,
        starting: this.#pool.startingCount,
        stalled: this.#pool.stalledCount,
        min: this.#pool.bounds.min,
        max: this.#pool.bounds.max,
        opened: this.#stats.sessionsOpened,
      },
      reconnects: this.#stats.reconnects,
    };
    if (this.#target !== undefined) st.target = this.#target.instanceId;
    if (this.#error !== undefined) st.error = { code: this.#error.code, message: this.#error.message };
    return st;
  }

  // ---- sessions ------------------------------------------------------------------------

  /** Ask the pool for the sessions the floor, the waiting connections and the load call for. */
  #grow(): void {
    if (this.#state === 'needs-login') return;
    const target = this.#target;
    if (this.#isDone() || this.#retryTimer !== undefined || target === undefined) return;
    const idle = this.spec.lazy === true && this.#pending.length === 0 && this.#stats.active === 0;
    this.#pool.grow(
      {
        instanceId: target.instanceId,
        remotePort: this.spec.remotePort,
        ...(this.spec.remoteHost === undefined ? {} : { remoteHost: this.spec.remoteHost }),
        ...(this.spec.reason === undefined ? {} : { reason: this.spec.reason }),
      },
      { pending: this.#pending.length, active: this.#stats.active - this.#pending.length, idle },
    );
  }

  async #onStarted(s: TunnelSession, hs: HandshakeInfo): Promise<boolean> {
    if (this.#isDone()) {
      await s.terminate();
      return false;
    }
    this.#stats.sessionsOpened++;
    s.on('reconnecting', () => {
      // A drop restarts the healthy countdown: a flapping session never resets the backoff.
      this.#armHealthy(s);
      this.#event('session-reconnecting', { sessionId: s.sessionId });
    });
    s.on('reconnected', () => this.#event('session-resumed', { sessionId: s.sessionId }));
    this.#event('session-started', {
      sessionId: s.sessionId,
      agentVersion: hs.agentVersion,
      mode: s.mode,
      keepAlive: hs.smuxKeepAlive,
      sessions: this.#pool.live.length,
      ...(hs.customerMessage === '' ? {} : { customerMessage: hs.customerMessage }),
    });
    if (!this.#everReady && this.spec.probe === true) {
      const r = await s.probe(this.#d.probeTimeoutMs);
      // The session may have ended during the probe (the agent's channel_closed), failing the forward.
      if (this.#isDone()) return false;
      this.#event('probe', { sessionId: s.sessionId, ok: r.ok, skipped: r.skipped, remote: this.status().remote });
      if (!r.ok) {
        this.#fail(
          new ForwardError(
            'ERR_TUNNEL_PROBE_FAILED',
            `probe failed: the agent could not connect to ${this.status().remote}`,
            {
              details: { sessionId: s.sessionId },
            },
          ),
        );
        return false;
      }
    }
    this.#lastFailure = undefined;
    this.#startFailures = 0;
    this.#armHealthy(s);
    this.#loginPause?.sessionReady();
    this.#markReady();
    this.#drainPending();
    this.#grow();
    if (this.#stats.active === 0) this.#armIdle();
    return true;
  }

  /** The retry backoff starts over only once a session has stayed up for a while. */
  #armHealthy(s: TunnelSession): void {
    if (this.#healthyTimer !== undefined) this.#d.clock.clearTimeout(this.#healthyTimer);
    this.#healthyTimer = this.#d.clock.setTimeout(() => {
      this.#healthyTimer = undefined;
      if (s.ready) this.#retryAttempt = 0;
    }, this.#d.healthyAfterMs ?? DEFAULT_HEALTHY_AFTER_MS);
  }

  #onStartFailure(err: unknown): void {
    if (this.#isDone()) return;
    const code = isTunnelError(err) ? err.code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    this.#lastFailure = isTunnelError(err) ? err : new ForwardError('ERR_TUNNEL_SESSION_LOST', message, { cause: err });
    // Issue #15: refused credentials after the first ready park the forward until a new sign-in
    // (no retry storm against the API); static keys cannot fix themselves, so they fail it.
    if (this.#everReady && isCredentialsCode(code)) {
      if (this.#d.login !== undefined) this.#onCredentialsRefused(code, message);
      else this.#fail(err);
      return;
    }
    // Before the first ready, an unknown/offline target or unusable credentials will not fix
    // themselves while the user waits; after it, they may (agent restart, `tunnel login`).
    const permanent =
      isPermanentCode(code) ||
      (!this.#everReady &&
        (code === 'ERR_AWS_TARGET_NOT_CONNECTED' ||
          code === 'ERR_AWS_CREDENTIALS' ||
          code === 'ERR_AWS_LOGIN_REQUIRED' ||
          code === 'ERR_AWS_EXPIRED_TOKEN'));
    if (permanent) {
      this.#fail(err);
      return;
    }
    this.#startFailures++;
    if (!this.#everReady && this.#startFailures >= this.#d.startAttempts) {
      this.#fail(err);
      return;
    }
    this.#scheduleRetry(code, message);
  }

  #scheduleRetry(code: string | undefined, message: string): void {
    if (this.#retryTimer !== undefined || this.#isDone()) return;
    const delayMs = backoffDelay(this.#retryAttempt, this.#d.backoff, this.#d.random);
    this.#retryAttempt++;
    const live = this.#pool.live.length;
    // Connections waiting for a session: one quick retry is worth waiting for; after that the
    // clients are better told at once (their socket is reset) than left hanging.
    if (this.#retryAttempt >= 2 && live === 0) {
      for (const c of [...this.#pending]) {
        this.#stats.failed++;
        c.abort(new ForwardError('ERR_TUNNEL_NOT_READY', 'refused: no session to the instance (reconnecting)'));
      }
    }
    if (live === 0 && this.#everReady) this.#setState('reconnecting');
    this.#event('retry-scheduled', {
      attempt: this.#retryAttempt,
      delayMs,
      ...(code === undefined ? {} : { code }),
      message,
    });
    this.#retryTimer = this.#d.clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#grow();
      this.#settleIfIdle();
    }, delayMs);
  }

  /** Credentials refused (issue #15): one re-check, else `needs-login` until a new sign-in. */
  #onCredentialsRefused(code: string | undefined, message: string): void {
    this.#loginPause?.refused({
      retry: () => this.#grow(),
      park: (login) => {
        if (this.#isDone() || this.#state === 'needs-login') return false;
        const known =
          code === 'ERR_AWS_LOGIN_REQUIRED' || code === 'ERR_AWS_EXPIRED_TOKEN' ? code : 'ERR_AWS_CREDENTIALS';
        this.#error = new AwsError(known, needsLoginMessage(login, message), {
          details: { forward: this.spec.name, profile: login.profile, command: login.command },
        });
        this.#clearTimers();
        // Waiting clients are told at once; new ones are closed on accept while the port stays open.
        for (const c of [...this.#pending]) {
          this.#stats.failed++;
          c.abort();
        }
        this.#setState('needs-login');
        this.#event('needs-login', {
          profile: login.profile,
          command: login.command,
          code: this.#error.code,
          message: this.#error.message,
        });
        return true;
      },
      resume: () => {
        if (this.#isDone()) return;
        this.#error = undefined;
        this.#retryAttempt = 0;
        this.#setState('reconnecting');
        this.#grow();
        this.#settleIfIdle();
      },
    });
  }

  #onSessionEnd(s: TunnelSession, end: SessionEnd): void {
    this.#event('session-ended', {
      sessionId: s.sessionId,
      reason: end.reason,
      message: end.message,
      ...(end.code === undefined ? {} : { code: end.code }),
      permanent: end.permanent,
      droppedConnections: s.load,
      sessions: this.#pool.live.length,
    });
    if (this.#isDone() || end.reason === 'terminated') return;
    if (end.reason === 'idle') {
      this.#drainPending();
      return;
    }
    if (end.permanent) {
      this.#fail(sessionEndError(end));
      return;
    }
    this.#stats.reconnects++;
    if (this.#pool.live.length === 0) this.#setState('reconnecting');
    const lived = this.#d.clock.now() - s.startedAt;
    if (lived < (this.#d.healthyAfterMs ?? DEFAULT_HEALTHY_AFTER_MS)) {
      // Died young (connect → close → failed resumes): the replacement waits, and the wait grows.
      this.#scheduleRetry(end.code, end.message);
      return;
    }
    this.#grow();
    this.#settleIfIdle();
  }

  /** Lazy with nothing waiting and nothing starting: no session is needed until the next connection. */
  #settleIfIdle(): void {
    if (this.#isDone() || this.#state === 'ready') return;
    if (
      this.#pool.live.length === 0 &&
      this.#pool.startingCount === 0 &&
      this.#retryTimer === undefined &&
      this.#everReady
    )
      this.#markReady();
  }

  #onLoad(): void {
    this.#drainPending();
    this.#grow();
    this.#armPoolTick();
  }

  /** While an adaptive pool carries connections, look at it periodically: stalls are silent. */
  #armPoolTick(): void {
    if (!this.#pool.bounds.adaptive || this.#poolTimer !== undefined || this.#isDone()) return;
    if (this.#stats.active === 0) return;
    this.#poolTimer = this.#d.clock.setTimeout(() => {
      this.#poolTimer = undefined;
      this.#grow();
      this.#armPoolTick();
    }, POOL_TICK_MS);
  }

  // ---- connections ---------------------------------------------------------------------

  #accept(socket: Socket): void {
    socket.on('error', () => {
      // Reported through the connection's close; a reset client must not crash the process.
    });
    if (this.#isDone() || this.#pending.length >= this.#d.maxPending || this.#state === 'needs-login') {
      if (this.#state === 'needs-login') {
        this.#stats.total++;
        this.#stats.failed++;
      }
      socket.resetAndDestroy();
      return;
    }
    this.#disarmIdle();
    const conn = new Connection(this.#nextConnId++, socket, this.#d.clock.now());
    this.#stats.active++;
    this.#stats.total++;
    socket.pause();
    this.#pending.push(conn);
    const onEarlyClose = (): void => {
      if (this.#pending.includes(conn)) {
        this.#pending = this.#pending.filter((c) => c !== conn);
        this.#stats.active--;
        this.#event('connection-closed', {
          connection: conn.id,
          bytesIn: 0,
          bytesOut: 0,
          durationMs: this.#d.clock.now() - conn.openedAt,
          attached: false,
          ...(conn.error === undefined
            ? {}
            : { error: conn.error.message, ...(isTunnelError(conn.error) ? { code: conn.error.code } : {}) }),
        });
        this.#armIdle();
      }
    };
    socket.once('close', onEarlyClose);
    // Grow first: a saturated adaptive pool starts a session, and the connection waits for it.
    this.#grow();
    this.#drainPending();
    this.#armPoolTick();
  }

  #drainPending(): void {
    while (this.#pending.length > 0) {
      const s = this.#pool.pick();
      if (s === undefined) break;
      const conn = this.#pending.shift() as Connection;
      this.#attach(conn, s);
    }
    // Every session is stalled (or busy): a reader catching up does not announce itself, so look again soon.
    if (this.#pending.length > 0 && this.#pool.live.length > 0 && this.#recheckTimer === undefined && !this.#isDone())
      this.#recheckTimer = this.#d.clock.setTimeout(() => {
        this.#recheckTimer = undefined;
        this.#drainPending();
        this.#grow();
      }, STALLED_RECHECK_MS);
  }

  #attach(conn: Connection, s: TunnelSession): void {
    this.#conns.add(conn);
    this.#event('connection-opened', {
      connection: conn.id,
      sessionId: s.sessionId,
      remoteAddress: conn.socket.remoteAddress ?? '',
      remotePort: conn.socket.remotePort ?? 0,
    });
    s.attach(
      conn,
      {
        onBytesIn: (n) => {
          this.#stats.bytesIn += n;
        },
        onBytesOut: (n) => {
          this.#stats.bytesOut += n;
        },
        onClose: (c, err) => {
          this.#conns.delete(c);
          this.#stats.active--;
          if (err !== undefined) this.#stats.failed++;
          this.#event('connection-closed', {
            connection: c.id,
            sessionId: s.sessionId,
            bytesIn: c.bytesIn,
            bytesOut: c.bytesOut,
            durationMs: this.#d.clock.now() - c.openedAt,
            ...(err === undefined ? {} : { error: err.message, ...(isTunnelError(err) ? { code: err.code } : {}) }),
          });
          this.emit('conn-closed');
          this.#armIdle();
        },
      },
      (c) => {
        this.#stats.failed++;
        const remote = this.status().remote;
        this.#event('connect-error', {
          connection: c.id,
          sessionId: s.sessionId,
          remote,
          code: 'ERR_TUNNEL_CONNECT_TO_PORT',
          message: `the agent could not connect to ${remote}`,
        });
      },
    );
  }

  // ---- lazy idle -----------------------------------------------------------------------

  #armIdle(): void {
    if (this.spec.lazy !== true || this.#stats.active > 0 || this.#isDone() || this.#idleTimer !== undefined) return;
    if (this.#pool.size === 0) return;
    const idleMs = this.spec.idleTimeoutMs ?? DEFAULT_SESSION_IDLE_CLOSE_MS;
    this.#idleTimer = this.#d.clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#stats.active > 0 || this.#isDone()) return;
      const sessions = this.#pool.closeIdle();
      this.#event('idle-close', { idleMs, sessions });
    }, idleMs);
  }

  #disarmIdle(): void {
    if (this.#idleTimer !== undefined) this.#d.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  // ---- state ---------------------------------------------------------------------------

  #isDone(): boolean {
    return this.#state === 'failed' || this.#state === 'stopped';
  }

  #markReady(): void {
    // A forward that failed or stopped while a session was starting stays that way.
    if (this.#isDone()) return;
    this.#everReady = true;
    this.#setState('ready');
    this.#wakeWaiters();
  }

  #fail(err: unknown): void {
    if (this.#isDone()) return;
    this.#error = isTunnelError(err)
      ? err
      : new ForwardError('ERR_TUNNEL_SESSION_LOST', err instanceof Error ? err.message : String(err), { cause: err });
    this.#clearTimers();
    this.#setState('failed');
    void this.#listener.close();
    for (const c of [...this.#pending]) c.abort();
    void this.#pool.close();
    this.#wakeWaiters();
  }

  #clearTimers(): void {
    this.#loginPause?.cancel();
    for (const t of [this.#retryTimer, this.#healthyTimer, this.#recheckTimer, this.#poolTimer])
      if (t !== undefined) this.#d.clock.clearTimeout(t);
    this.#poolTimer = undefined;
    this.#retryTimer = undefined;
    this.#healthyTimer = undefined;
    this.#recheckTimer = undefined;
    this.#disarmIdle();
  }

  #setState(state: ForwardState): void {
    if (this.#state === state) return;
    const previous = this.#state;
    this.#state = state;
    this.#event('forward-state', {
      state,
      previous,
      ...((state === 'failed' || state === 'needs-login') && this.#error !== undefined
        ? { code: this.#error.code, message: this.#error.message }
        : {}),
    });
    this.emit('state', state);
  }

  #settled(): Promise<void> {
    if (this.#state === 'ready' || this.#isDone()) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  #wakeWaiters(): void {
    const w = this.#readyWaiters.splice(0);
    for (const f of w) f();
  }

  #event(type: TunnelEventType, fields: Record<string, unknown>): void {
    const ev: TunnelEvent = {
      type,
      time: new Date(this.#d.clock.wallNow()).toISOString(),
      forward: this.spec.name,
      ...fields,
    };
    const clean = scrubSecrets(ev, this.#d.secrets);
    this.emit('event', clean);
    this.#d.emit(clean);
  }
}

/** A host as written before `:port`: IPv6 literals (with or without a zone id) in brackets. */
export function hostForDisplay(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
