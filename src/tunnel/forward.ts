/**
 * A forward: one local port (on one or more addresses) kept alive over a pool of sessions.
 *
 * States: idle → starting → ready ⇄ reconnecting → stopped, or → failed (permanent errors,
 * not retried; other forwards keep running). The listener stays up while sessions come and
 * go: a dead session's connections are closed and counted, and a fresh session replaces it
 * (immediately, then with backoff + jitter while starts keep failing).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import type { SsmApi } from '../aws/ssm-api.js';
import { ForwardError, isTunnelError, type TunnelError } from '../errors.js';
import { backoffDelay, type BackoffPolicy, type RandomSource } from './backoff.js';
import { Connection } from './connection.js';
import {
  scrubSecrets,
  type ForwardState,
  type ForwardStatus,
  type TunnelEvent,
  type TunnelEventType,
} from './events.js';
import { DEFAULT_SESSION_IDLE_CLOSE_MS, describeTargetRef, type ForwardSpec } from './forward-spec.js';
import { TunnelListener } from './listener.js';
import type { SessionFactory } from './session-ports.js';
import { resolveTarget, type ResolvedTarget } from './target.js';
import { isPermanentCode, sessionEndError, TunnelSession, type SessionEnd } from './tunnel-session.js';

export interface ForwardDeps {
  api: SsmApi;
  factory: SessionFactory;
  clock: Clock;
  random: RandomSource;
  backoff: BackoffPolicy;
  /** Transient start failures tolerated before the first ready (then `failed`). */
  startAttempts: number;
  probeTimeoutMs: number;
  /** Basic mode: extra idle sessions above `sessions` are terminated after this long. */
  basicSpareLingerMs: number;
  /** Basic mode: at most this many sessions at once. */
  maxBasicSessions: number;
  /** Connections waiting for a session; beyond this new ones are refused. */
  maxPending: number;
  /** Secrets to scrub from events (shared by every forward of a manager). */
  secrets: Set<string>;
  emit(event: TunnelEvent): void;
}

export class Forward extends EventEmitter {
  readonly spec: ForwardSpec;
  readonly #d: ForwardDeps;
  #state: ForwardState = 'idle';
  #error: TunnelError | undefined;
  /** The last start failure while the forward keeps retrying (cleared when it is ready again). */
  #lastFailure: TunnelError | undefined;
  #target: ResolvedTarget | undefined;
  readonly #listener: TunnelListener;
  #sessions: TunnelSession[] = [];
  readonly #starting = new Set<TunnelSession>();
  readonly #startJobs = new Set<Promise<void>>();
  #pending: Connection[] = [];
  #everReady = false;
  #startFailures = 0;
  #retryAttempt = 0;
  #retryTimer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  readonly #spareTimers = new Map<TunnelSession, TimerHandle>();
  #nextConnId = 1;
  #active = 0;
  #total = 0;
  #failed = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #reconnects = 0;
  #rate = { t: 0, bytesIn: 0, bytesOut: 0, inBps: 0, outBps: 0 };
  #readyWaiters: Array<() => void> = [];

  constructor(spec: ForwardSpec, deps: ForwardDeps) {
    super();
    this.spec = spec;
    this.#d = deps;
    this.#listener = new TunnelListener({
      ...(spec.bind === undefined ? {} : { bind: spec.bind }),
      port: spec.localPort,
      ...(spec.allowBusyFallback === undefined ? {} : { allowBusyFallback: spec.allowBusyFallback }),
      onConnection: (s) => this.#accept(s),
    });
    this.#rate.t = deps.clock.now();
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

  /** Stop accepting, close connections, TerminateSession for every open session; bounded by `deadlineMs`. */
  async stop(deadlineMs = 1800): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasFailed = this.#state === 'failed';
    this.#clearTimers();
    this.#state = 'stopped';
    const listenerClosed = this.#listener.close();
    for (const c of [...this.#pending]) c.abort();
    const sessions = [...this.#sessions, ...this.#starting];
    this.#sessions = [];
    const work = Promise.all([listenerClosed, ...sessions.map((s) => s.terminate()), ...this.#startJobs]).then(
      () => undefined,
    );
    await new Promise<void>((resolve) => {
      const timer = this.#d.clock.setTimeout(resolve, deadlineMs);
      void work.then(() => {
        this.#d.clock.clearTimeout(timer);
        resolve();
      });
    });
    if (!wasFailed) this.#error = undefined;
    this.#event('forward-state', { state: 'stopped' });
    this.#wakeWaiters();
    this.emit('state', 'stopped');
  }

  status(): ForwardStatus {
    const now = this.#d.clock.now();
    const dt = now - this.#rate.t;
    if (dt >= 1000) {
      this.#rate = {
        t: now,
        bytesIn: this.#bytesIn,
        bytesOut: this.#bytesOut,
        inBps: Math.round(((this.#bytesIn - this.#rate.bytesIn) * 1000) / dt),
        outBps: Math.round(((this.#bytesOut - this.#rate.bytesOut) * 1000) / dt),
      };
    }
    const st: ForwardStatus = {
      name: this.spec.name,
      state: this.#state,
      addresses: this.#listener.addresses,
      remote: `${this.spec.remoteHost ?? 'localhost'}:${this.spec.remotePort}`,
      connections: { active: this.#active, total: this.#total, failed: this.#failed },
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      rateInBps: this.#rate.inBps,
      rateOutBps: this.#rate.outBps,
      sessions: this.#sessions
        .filter((s) => s.ready)
        .map((s) => ({
          sessionId: s.sessionId,
          agentVersion: s.handshake?.agentVersion ?? '',
          mode: s.mode,
          ageMs: now - s.startedAt,
        })),
      reconnects: this.#reconnects,
    };
    if (this.#target !== undefined) st.target = this.#target.instanceId;
    if (this.#error !== undefined) st.error = { code: this.#error.code, message: this.#error.message };
    return st;
  }

  // ---- sessions ------------------------------------------------------------------------

  #poolSize(): number {
    return Math.max(1, Math.floor(this.spec.sessions ?? 1));
  }

  #liveSessions(): TunnelSession[] {
    return this.#sessions.filter((s) => s.ready);
  }

  /** Start sessions until the pool (mux) or the waiting connections (basic) are covered. */
  #grow(): void {
    if (this.#isDone() || this.#retryTimer !== undefined || this.#target === undefined) return;
    const live = this.#liveSessions();
    const basic = live.some((s) => s.mode === 'basic');
    const idle = this.spec.lazy === true && this.#pending.length === 0 && this.#active === 0;
    const floor = idle ? 0 : this.#poolSize() - live.length - this.#starting.size;
    let want = floor;
    if (basic) {
      // One connection per basic-mode session: cover every waiting connection, up to a cap.
      const free = live.filter((s) => s.hasCapacity).length;
      const need = this.#pending.length - free - this.#starting.size;
      want = Math.min(this.#d.maxBasicSessions - live.length - this.#starting.size, Math.max(need, floor));
    }
    for (let i = 0; i < want; i++) this.#startSession();
  }

  #startSession(): void {
    const target = this.#target;
    if (target === undefined) return;
    const s = new TunnelSession({
      api: this.#d.api,
      factory: this.#d.factory,
      clock: this.#d.clock,
      targetId: target.instanceId,
      remotePort: this.spec.remotePort,
      ...(this.spec.remoteHost === undefined ? {} : { remoteHost: this.spec.remoteHost }),
      ...(this.spec.reason === undefined ? {} : { reason: this.spec.reason }),
      random: this.#d.random,
      onSecret: (secret) => this.#d.secrets.add(secret),
    });
    this.#starting.add(s);
    this.#event('session-starting', { instanceId: target.instanceId });
    const job = this.#runSession(s).finally(() => this.#startJobs.delete(job));
    this.#startJobs.add(job);
  }

  async #runSession(s: TunnelSession): Promise<void> {
    let hs;
    try {
      hs = await s.start();
    } catch (err) {
      this.#starting.delete(s);
      if (this.#isDone()) return;
      this.#onStartFailure(err);
      return;
    } finally {
      this.#starting.delete(s);
    }
    if (this.#isDone()) {
      await s.terminate();
      return;
    }
    this.#sessions.push(s);
    s.on('end', (end: SessionEnd) => this.#onSessionEnd(s, end));
    s.on('load', (n: number) => this.#onLoad(s, n));
    s.on('reconnecting', () => this.#event('session-reconnecting', { sessionId: s.sessionId }));
    s.on('reconnected', () => this.#event('session-resumed', { sessionId: s.sessionId }));
    this.#event('session-started', {
      sessionId: s.sessionId,
      agentVersion: hs.agentVersion,
      mode: s.mode,
      keepAlive: hs.smuxKeepAlive,
      ...(hs.customerMessage === '' ? {} : { customerMessage: hs.customerMessage }),
    });
    if (!this.#everReady && this.spec.probe === true) {
      const r = await s.probe(this.#d.probeTimeoutMs);
      // The session may have ended during the probe (the agent's channel_closed), failing the forward.
      if (this.#isDone()) return;
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
        return;
      }
    }
    this.#retryAttempt = 0;
    this.#lastFailure = undefined;
    this.#startFailures = 0;
    this.#markReady();
    this.#drainPending();
    this.#grow();
    if (this.#active === 0) this.#armIdle();
  }

  #onStartFailure(err: unknown): void {
    const code = isTunnelError(err) ? err.code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    // Before the first ready, an unknown/offline target or unusable credentials will not fix
    // themselves while the user waits; after it, they may (agent restart, `aws sso login`).
    const permanent =
      isPermanentCode(code) ||
      (!this.#everReady &&
        (code === 'ERR_AWS_TARGET_NOT_CONNECTED' ||
          code === 'ERR_AWS_CREDENTIALS' ||
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
    this.#lastFailure = isTunnelError(err) ? err : new ForwardError('ERR_TUNNEL_SESSION_LOST', message, { cause: err });
    this.#scheduleRetry(code, message);
  }

  #scheduleRetry(code: string | undefined, message: string): void {
    if (this.#retryTimer !== undefined || this.#isDone()) return;
    const delayMs = backoffDelay(this.#retryAttempt, this.#d.backoff, this.#d.random);
    this.#retryAttempt++;
    // Connections waiting for a session: one quick retry is worth waiting for; after that the
    // clients are better told at once (their socket closes) than left hanging.
    if (this.#retryAttempt >= 2 && this.#liveSessions().length === 0) {
      for (const c of [...this.#pending]) {
        this.#failed++;
        c.abort(new ForwardError('ERR_TUNNEL_NOT_READY', 'refused: no session to the instance (reconnecting)'));
      }
    }
    if (this.#liveSessions().length === 0 && this.#everReady) this.#setState('reconnecting');
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

  #onSessionEnd(s: TunnelSession, end: SessionEnd): void {
    this.#sessions = this.#sessions.filter((x) => x !== s);
    const spare = this.#spareTimers.get(s);
    if (spare !== undefined) this.#d.clock.clearTimeout(spare);
    this.#spareTimers.delete(s);
    this.#event('session-ended', {
      sessionId: s.sessionId,
      reason: end.reason,
      message: end.message,
      ...(end.code === undefined ? {} : { code: end.code }),
      permanent: end.permanent,
      droppedConnections: s.load,
    });
    if (this.#isDone() || end.reason === 'terminated' || end.reason === 'idle') return;
    if (end.permanent) {
      this.#fail(sessionEndError(end));
      return;
    }
    this.#reconnects++;
    if (this.#liveSessions().length === 0) this.#setState('reconnecting');
    this.#grow();
    this.#settleIfIdle();
  }

  /** Lazy with nothing waiting and nothing starting: no session is needed until the next connection. */
  #settleIfIdle(): void {
    if (this.#isDone() || this.#state === 'ready') return;
    if (
      this.#liveSessions().length === 0 &&
      this.#starting.size === 0 &&
      this.#retryTimer === undefined &&
      this.#everReady
    )
      this.#markReady();
  }

  #onLoad(s: TunnelSession, n: number): void {
    if (n === 0 && s.mode === 'basic') {
      const free = this.#liveSessions().filter((x) => x.hasCapacity);
      if (free.length > this.#poolSize() && !this.#spareTimers.has(s)) {
        this.#spareTimers.set(
          s,
          this.#d.clock.setTimeout(() => {
            this.#spareTimers.delete(s);
            if (s.load === 0 && this.#liveSessions().filter((x) => x.hasCapacity).length > this.#poolSize())
              void s.terminate();
          }, this.#d.basicSpareLingerMs),
        );
      }
    }
    this.#drainPending();
  }

  // ---- connections ---------------------------------------------------------------------

  #accept(socket: Socket): void {
    socket.on('error', () => {
      // Reported through the connection's close; a reset client must not crash the process.
    });
    if (this.#isDone() || this.#pending.length >= this.#d.maxPending) {
      socket.destroy();
      return;
    }
    this.#disarmIdle();
    const conn = new Connection(this.#nextConnId++, socket, this.#d.clock.now());
    this.#active++;
    this.#total++;
    socket.pause();
    this.#pending.push(conn);
    const onEarlyClose = (): void => {
      if (this.#pending.includes(conn)) {
        this.#pending = this.#pending.filter((c) => c !== conn);
        this.#active--;
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
    this.#drainPending();
    if (this.#pending.includes(conn)) this.#grow();
  }

  #pick(): TunnelSession | undefined {
    let best: TunnelSession | undefined;
    for (const s of this.#sessions) if (s.hasCapacity && (best === undefined || s.load < best.load)) best = s;
    return best;
  }

  #drainPending(): void {
    while (this.#pending.length > 0) {
      const s = this.#pick();
      if (s === undefined) break;
      const conn = this.#pending.shift() as Connection;
      const spare = this.#spareTimers.get(s);
      if (spare !== undefined) {
        this.#d.clock.clearTimeout(spare);
        this.#spareTimers.delete(s);
      }
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
            this.#bytesIn += n;
          },
          onBytesOut: (n) => {
            this.#bytesOut += n;
          },
          onClose: (c, err) => {
            this.#active--;
            if (err !== undefined) this.#failed++;
            this.#event('connection-closed', {
              connection: c.id,
              sessionId: s.sessionId,
              bytesIn: c.bytesIn,
              bytesOut: c.bytesOut,
              durationMs: this.#d.clock.now() - c.openedAt,
              ...(err === undefined ? {} : { error: err.message, ...(isTunnelError(err) ? { code: err.code } : {}) }),
            });
            this.#armIdle();
          },
        },
        (c) => {
          this.#failed++;
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
  }

  // ---- lazy idle -----------------------------------------------------------------------

  #armIdle(): void {
    if (this.spec.lazy !== true || this.#active > 0 || this.#isDone() || this.#idleTimer !== undefined) return;
    if (this.#sessions.length === 0 && this.#starting.size === 0) return;
    const idleMs = this.spec.idleTimeoutMs ?? DEFAULT_SESSION_IDLE_CLOSE_MS;
    this.#idleTimer = this.#d.clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#active > 0 || this.#isDone()) return;
      const sessions = this.#sessions.splice(0);
      this.#event('idle-close', { idleMs, sessions: sessions.map((s) => s.sessionId) });
      for (const s of sessions) void s.terminate('idle');
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
    const sessions = [...this.#sessions, ...this.#starting];
    this.#sessions = [];
    for (const s of sessions) void s.terminate();
    this.#wakeWaiters();
  }

  #clearTimers(): void {
    if (this.#retryTimer !== undefined) this.#d.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#disarmIdle();
    for (const t of this.#spareTimers.values()) this.#d.clock.clearTimeout(t);
    this.#spareTimers.clear();
  }

  #setState(state: ForwardState): void {
    if (this.#state === state) return;
    const previous = this.#state;
    this.#state = state;
    this.#event('forward-state', {
      state,
      previous,
      ...(state === 'failed' && this.#error !== undefined
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
