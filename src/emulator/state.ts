/**
 * The emulator's shared state: instances, sessions, tokens and the record of API calls.
 *
 * The SSM API (`api/ssm-api.ts`) creates and terminates sessions here; the websocket gateway reads
 * them, checks tokens and listens for `session-terminated` to send `channel_closed`. Nothing in this
 * file does I/O.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  EMULATOR_USER_NAME,
  resolveInstance,
  type FaultSettings,
  type InstanceSettings,
  type ResolvedEmulatorOptions,
  type ResolvedInstanceSettings,
} from './options.js';

export interface EmulatedSession {
  /** `<caller>-<17 lowercase hex>`, like the real service (caller = the IAM user name). */
  sessionId: string;
  target: string;
  instance: ResolvedInstanceSettings;
  documentName: string;
  /** The request's Parameters after defaults were applied (lists of strings, as on the wire). */
  parameters: Record<string, string[]>;
  /** The document's `properties` after `{{ param }}` substitution; all values are strings. */
  properties: Record<string, string>;
  /** `ws://HOST:PORT/v1/data-channel/<SessionId>?role=publish_subscribe` */
  streamUrl: string;
  status: 'started' | 'connected' | 'terminated';
  /** Epoch milliseconds (clock.wallNow()). */
  startedAt: number;
  /** The `channel_closed` Output text once terminated ('' for a TerminateSession API call). */
  closeOutput?: string;
}

/** One API request as the emulator saw it (also failed ones, with their error code). */
export interface ApiCall {
  /** `StartSession`, `ResumeSession`, …, or `kms:GenerateDataKey` / `kms:Decrypt`. */
  operation: string;
  /** Epoch milliseconds. */
  at: number;
  /** The parsed JSON body (undefined when it did not parse). */
  request: unknown;
  errorCode?: string;
}

export interface EmulatorStateEvents {
  'api-call': [ApiCall];
  'session-started': [EmulatedSession];
  'session-terminated': [EmulatedSession, string];
  'instance-changed': [ResolvedInstanceSettings];
}

export interface NewSession {
  target: string;
  instance: ResolvedInstanceSettings;
  documentName: string;
  parameters: Record<string, string[]>;
  properties: Record<string, string>;
}

/** Oldest calls are forgotten beyond this, so a long-running `tunnel emulator` stays bounded. */
const MAX_RECORDED_CALLS = 10_000;

export class EmulatorState extends EventEmitter<EmulatorStateEvents> {
  readonly options: ResolvedEmulatorOptions;
  readonly calls: ApiCall[] = [];
  readonly instances: Map<string, ResolvedInstanceSettings>;
  readonly sessions = new Map<string, EmulatedSession>();
  /** Epoch milliseconds when this state was made (reported as managed nodes' RegistrationDate). */
  readonly createdAt: number;
  /** Runtime fault knobs; starts as a copy of `options.faults` and may be changed at any time. */
  faults: FaultSettings;
  #baseUrl: string;
  /** Every token issued for a session stays valid until the session is terminated. */
  readonly #tokens = new Map<string, Set<string>>();

  constructor(options: ResolvedEmulatorOptions) {
    super();
    this.options = options;
    this.faults = { ...options.faults };
    this.createdAt = options.clock.wallNow();
    this.instances = new Map(options.instances.map((i) => [i.instanceId, i]));
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.#baseUrl = `ws://${host}:${options.port}`;
  }

  /**
   * The service's wall clock as its API shows it (the `Date` header, the SigV4 window): the
   * emulator's clock plus the `clockSkewMs` fault.
   */
  apiNow(): number {
    return this.options.clock.wallNow() + (this.faults.clockSkewMs ?? 0);
  }

  /** `ws://127.0.0.1:PORT`, the origin StreamUrls point at. */
  get dataChannelBaseUrl(): string {
    return this.#baseUrl;
  }

  /** Set by startEmulator once the server listens (the port is only known then). */
  setDataChannelBaseUrl(url: string): void {
    this.#baseUrl = url.replace(/\/+$/, '');
  }

  /** The StreamUrl of a session id. */
  streamUrlFor(sessionId: string): string {
    return `${this.#baseUrl}/v1/data-channel/${sessionId}?role=publish_subscribe`;
  }

  /** Change (or add) an instance at run time, e.g. `{ pingStatus: 'ConnectionLost' }`. */
  setInstance(id: string, patch: Partial<InstanceSettings>): void {
    const current = this.instances.get(id);
    const base: InstanceSettings = current ? { ...current } : { instanceId: id };
    // A new name replaces the Name tag; tags given in the patch replace the tag map.
    const merged: InstanceSettings = { ...base, ...patch, instanceId: id };
    if (patch.tags !== undefined) merged.tags = { ...patch.tags };
    if (patch.name === undefined && patch.tags !== undefined && patch.tags['Name'] === undefined) delete merged.name;
    const resolved = resolveInstance(merged);
    this.instances.set(id, resolved);
    this.emit('instance-changed', resolved);
  }

  /** A new opaque token for the session's websocket (StartSession and each ResumeSession). */
  issueToken(sessionId: string): string {
    const token = randomBytes(48).toString('base64');
    let set = this.#tokens.get(sessionId);
    if (!set) {
      set = new Set();
      this.#tokens.set(sessionId, set);
    }
    set.add(token);
    return token;
  }

  /** True when `token` was issued for this live session (constant time per candidate). */
  checkToken(sessionId: string, token: string): boolean {
    const session = this.sessions.get(sessionId);
    if (!session || session.status === 'terminated') return false;
    const given = Buffer.from(token);
    let ok = false;
    for (const t of this.#tokens.get(sessionId) ?? []) {
      const want = Buffer.from(t);
      if (want.length === given.length && timingSafeEqual(want, given)) ok = true;
    }
    return ok;
  }

  /** Register a session StartSession accepted; emits `session-started`. */
  createSession(init: NewSession): EmulatedSession {
    let sessionId: string;
    do {
      // 17 lowercase hex digits: 9 random bytes, one nibble dropped.
      sessionId = `${EMULATOR_USER_NAME}-${randomBytes(9).toString('hex').slice(0, 17)}`;
    } while (this.sessions.has(sessionId));
    const session: EmulatedSession = {
      sessionId,
      target: init.target,
      instance: init.instance,
      documentName: init.documentName,
      parameters: init.parameters,
      properties: init.properties,
      streamUrl: this.streamUrlFor(sessionId),
      status: 'started',
      startedAt: this.options.clock.wallNow(),
    };
    this.sessions.set(sessionId, session);
    this.emit('session-started', session);
    return session;
  }

  /** Mark a session connected (the gateway calls this when the client's socket is accepted). */
  markConnected(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (s && s.status === 'started') s.status = 'connected';
  }

  /**
   * End a session. Idempotent: only the first call records `closeOutput` and emits
   * `session-terminated(session, output)`; tokens stop being valid at once.
   */
  terminateSession(sessionId: string, output = ''): void {
    const s = this.sessions.get(sessionId);
    if (!s || s.status === 'terminated') return;
    s.status = 'terminated';
    s.closeOutput = output;
    this.#tokens.delete(sessionId);
    this.emit('session-terminated', s, output);
  }

  /** Append to `calls` and emit `api-call`. */
  recordCall(call: ApiCall): void {
    this.calls.push(call);
    if (this.calls.length > MAX_RECORDED_CALLS) this.calls.splice(0, this.calls.length - MAX_RECORDED_CALLS);
    this.emit('api-call', call);
  }

  /** A request id for the `x-amzn-RequestId` header. */
  newRequestId(): string {
    return randomUUID();
  }
}
