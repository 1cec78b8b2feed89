/**
 * TunnelManager: many forwards, one SSM API client, one event stream.
 *
 * `start()` resolves when every forward is ready or failed (a failed forward does not stop the
 * others); `stop()` stops accepting, closes streams and calls TerminateSession for every open
 * session within 2 s. Events: 'event'(TunnelEvent).
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../clock.js';
import { createSsmApi, type SsmApi } from '../aws/ssm-api.js';
import type { AwsSettings } from '../aws/settings.js';
import { ForwardError } from '../errors.js';
import { DEFAULT_BACKOFF, type BackoffPolicy, type RandomSource } from './backoff.js';
import { createDefaultSessionFactory } from './default-factory.js';
import { kmsHandlerFactory } from './kms-handler.js';
import type { ForwardStatus, TunnelEvent } from './events.js';
import { Forward } from './forward.js';
import type { ForwardSpec } from './forward-spec.js';
import type { SessionFactory } from './session-ports.js';

export interface TunnelManagerOptions {
  aws: AwsSettings;
  clock?: Clock;
  /** Default: the SDK-backed API from `aws`. */
  ssm?: SsmApi;
  /** Default: session/DataChannel + mux/MuxSession, with KMS session encryption from `aws` (issue #9). */
  factory?: SessionFactory;
  /** Jitter source; default Math.random. Tests pass `seededRandom(n)`. */
  random?: RandomSource;
  backoff?: Partial<BackoffPolicy>;
  /** Transient failures tolerated before a forward's first ready; default 3. */
  startAttempts?: number;
  /** How long a probe waits for ConnectToPortError before calling it good; default 1500 ms. */
  probeTimeoutMs?: number;
  /** Basic mode: linger of spare idle sessions above the pool size; default 30 s. */
  basicSpareLingerMs?: number;
  /** Basic mode: session cap per forward; default 64. */
  maxBasicSessions?: number;
  /** Connections waiting for a session, per forward; default 1024. */
  maxPending?: number;
  /** stop() deadline; default 1800 ms (exit within 2 s). */
  stopDeadlineMs?: number;
}

export class TunnelManager extends EventEmitter {
  readonly #forwards = new Map<string, Forward>();
  readonly #opts: TunnelManagerOptions;
  readonly #api: SsmApi;
  readonly #clock: Clock;
  readonly #secrets = new Set<string>();
  readonly #factory: SessionFactory;

  constructor(options: TunnelManagerOptions) {
    super();
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#api = options.ssm ?? createSsmApi(options.aws);
    // The KMS client is created (and its SDK loaded) only if an agent asks for encryption.
    this.#factory = options.factory ?? createDefaultSessionFactory({ kms: kmsHandlerFactory(options.aws) });
    const creds = options.aws.credentials;
    if (creds !== undefined) {
      // Whatever the provider hands out must never show up in an event.
      void creds()
        .then((c) => {
          this.#secrets.add(c.secretAccessKey);
          if (c.sessionToken !== undefined) this.#secrets.add(c.sessionToken);
        })
        .catch(() => undefined);
    }
  }

  /** Register a forward (not started until `start()` or `forward.start()`). */
  add(spec: ForwardSpec): Forward {
    if (this.#forwards.has(spec.name)) {
      throw new ForwardError('ERR_TUNNEL_DUPLICATE_FORWARD', `a forward named ${spec.name} already exists`, {
        details: { forward: spec.name },
      });
    }
    const o = this.#opts;
    const f = new Forward(spec, {
      api: this.#api,
      factory: this.#factory,
      clock: this.#clock,
      random: o.random ?? Math.random,
      backoff: { ...DEFAULT_BACKOFF, ...(o.backoff ?? {}) },
      startAttempts: o.startAttempts ?? 3,
      probeTimeoutMs: o.probeTimeoutMs ?? 1500,
      basicSpareLingerMs: o.basicSpareLingerMs ?? 30_000,
      maxBasicSessions: o.maxBasicSessions ?? 64,
      maxPending: o.maxPending ?? 1024,
      secrets: this.#secrets,
      emit: (ev: TunnelEvent) => this.emit('event', ev),
    });
    this.#forwards.set(spec.name, f);
    return f;
  }

  get(name: string): Forward | undefined {
    return this.#forwards.get(name);
  }

  get forwards(): Forward[] {
    return [...this.#forwards.values()];
  }

  /** Start every forward; resolves when each is ready or failed. */
  async start(): Promise<void> {
    await Promise.all(this.forwards.map((f) => f.start()));
  }

  /** Stop every forward (TerminateSession for each open session), within the deadline. */
  async stop(): Promise<void> {
    await Promise.all(this.forwards.map((f) => f.stop(this.#opts.stopDeadlineMs ?? 1800)));
  }

  status(): ForwardStatus[] {
    return this.forwards.map((f) => f.status());
  }
}

/**
 * Open one forward and wait until it is ready. Rejects with the forward's error (and leaves
 * nothing running) when it fails. Stop it with `forward.stop()`.
 */
export async function openForward(spec: ForwardSpec, options: TunnelManagerOptions): Promise<Forward> {
  const manager = new TunnelManager(options);
  const f = manager.add(spec);
  await f.start();
  if (f.state === 'failed') {
    const e = f.error;
    await f.stop();
    throw e ?? new ForwardError('ERR_TUNNEL_SESSION_LOST', `${spec.name}: forward failed`);
  }
  return f;
}
