/**
 * One Session Manager session of a forward: StartSession → data channel → handshake → smux
 * client (mux) or the bare channel (basic). It carries connections until it ends; the forward
 * decides what happens next (a fresh session, or `failed`).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import { portForwardingRequest, type SsmApi } from '../aws/ssm-api.js';
import { ForwardError, isCodeOf, isTunnelError, type ErrorCode } from '../errors.js';
import { Connection, type ConnectionHooks } from './connection.js';
import {
  FLAG_CONNECT_TO_PORT_ERROR,
  type ChannelPort,
  type HandshakeInfo,
  type MuxPort,
  type SessionFactory,
} from './session-ports.js';
import { AGENT_REFUSES_LOOPBACK_MIN, CONTAINER_CREDENTIAL_ADDRESSES } from '../protocol/ssm/versions.js';

export interface ProbeResult {
  ok: boolean;
  skipped: boolean;
  reason?: 'data' | 'quiet' | 'refused' | 'closed';
}

export type SessionEndReason = 'channel-closed' | 'channel-error' | 'mux-closed' | 'terminated' | 'idle';

export interface SessionEnd {
  reason: SessionEndReason;
  message: string;
  code?: ErrorCode;
  /** Retrying cannot help (forbidden host, access denied, bad parameters). */
  permanent: boolean;
}

export interface TunnelSessionOptions {
  api: SsmApi;
  factory: SessionFactory;
  clock: Clock;
  targetId: string;
  remotePort: number;
  remoteHost?: string;
  reason?: string;
  /** Injected jitter source, handed to the data channel. */
  random?: () => number;
  /** Secrets (tokens) are reported here so the event layer can scrub them. */
  onSecret(secret: string): void;
}

/** AWS/session codes for which a fresh session would fail the same way. */
const PERMANENT_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_AWS_ACCESS_DENIED',
  'ERR_AWS_INVALID_DOCUMENT',
  'ERR_AWS_INVALID_PARAMETERS',
  'ERR_AWS_INSECURE_ENDPOINT',
  // KMS refused the session key (disabled key, no kms:GenerateDataKey): a new session would
  // ask KMS again and be refused the same way.
  'ERR_AWS_KMS',
  'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN',
  // HTTP 403 on the websocket upgrade at the first connect: the signature (credentials,
  // region) is refused, and a new session would be signed the same way.
  'ERR_SESSION_UPGRADE_REFUSED',
  'ERR_TUNNEL_TARGET_NOT_FOUND',
  'ERR_TUNNEL_TARGET_AMBIGUOUS',
  'ERR_SESSION_UNSUPPORTED_SESSION_TYPE',
  'ERR_SESSION_INSECURE_URL',
]);

/** ResumeSession errors that mean "this session cannot be resumed" (not worth retrying). */
const RESUME_REFUSALS: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_AWS_ACCESS_DENIED',
  'ERR_AWS_INVALID_PARAMETERS',
  'ERR_AWS_API',
]);

/**
 * The error a forward reports for a session that ended: a permanent end keeps its own code
 * (forbidden or unresolvable remote host, …) so the user and the exit status see the cause;
 * any other end is a lost session.
 */
export function sessionEndError(end: SessionEnd, cause?: unknown): ForwardError {
  // Permanent ends are classified here (classifyChannelClosed) and carry a forward code.
  const code =
    end.permanent && end.code !== undefined && isCodeOf(end.code, 'TUNNEL') ? end.code : 'ERR_TUNNEL_SESSION_LOST';
  return new ForwardError(code, end.message, cause === undefined ? {} : { cause });
}

export function isPermanentCode(code: string | undefined): boolean {
  return code !== undefined && PERMANENT_CODES.has(code);
}

/**
 * The agent fails a session after the handshake with its own text, which the service relays in
 * channel_closed (see the fixtures): a denied remote host ("Forwarding to IP address X is
 * forbidden."), or a remote host name its resolver cannot find ("lookup X: no such host"; the
 * agent resolves `host` once per session). A fresh session would fail the same way, so both are
 * permanent. Anything else (TerminateSession, idle timeout, "Unable to connect to specified port"
 * in basic mode) may well succeed next time.
 */
export function classifyChannelClosed(output: string, context: { agentVersion?: string } = {}): SessionEnd {
  // The agent's own text, prefixed with where it happened: the check and the lookup run on the
  // instance (its deny list, its resolver), not on this machine.
  if (/is forbidden|not allowed|denied/i.test(output)) {
    return {
      reason: 'channel-closed',
      message: `refused on the instance: ${forbiddenHostMessage(output, context.agentVersion)}`,
      code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN',
      permanent: true,
    };
  }
  if (/^lookup \S+: no such host$/.test(output.trim())) {
    return {
      reason: 'channel-closed',
      message: `the instance could not resolve the host: ${output.trim()}`,
      code: 'ERR_TUNNEL_CONNECT_TO_PORT',
      permanent: true,
    };
  }
  return {
    reason: 'channel-closed',
    message: output === '' ? 'the service closed the session' : output,
    code: 'ERR_SESSION_CHANNEL_CLOSED',
    permanent: false,
  };
}

/**
 * The agent's refusal, with the rule behind it and what to do. Every agent refuses the instance
 * metadata and related link-local addresses (`Mgs.DeniedPortForwardingRemoteIPs`); agents from
 * 3.3.4851.0 (2026-07, a server-side request forgery fix) also refuse loopback and the container
 * credential endpoints for AWS-StartPortForwardingSessionToRemoteHost.
 */
export function forbiddenHostMessage(output: string, agentVersion: string | undefined): string {
  const agent = agentVersion === undefined ? 'the agent' : `the agent (version ${agentVersion})`;
  return (
    `${output.trim()} ${agent} refuses this destination for AWS-StartPortForwardingSessionToRemoteHost: ` +
    `every agent refuses the instance metadata and related link-local addresses, and agents from ${AGENT_REFUSES_LOOPBACK_MIN} on ` +
    'also refuse loopback (localhost, 127.0.0.0/8, ::1) and the container credential endpoints ' +
    `(${CONTAINER_CREDENTIAL_ADDRESSES.join(', ')}). For a service on the instance itself use host localhost ` +
    '(tunnel then starts AWS-StartPortForwardingSession, which is allowed); otherwise forward to an address ' +
    'the instance reaches that is not on these lists. Not retried.'
  );
}

export class TunnelSession extends EventEmitter {
  readonly #o: TunnelSessionOptions;
  sessionId = '';
  handshake: HandshakeInfo | undefined;
  startedAt = 0;
  readonly connections = new Set<Connection>();
  #channel: ChannelPort | undefined;
  #phase: 'new' | 'StartSession' | 'handshake' | 'started' = 'new';
  #dropped = 0;
  #lastDropped: string | undefined;
  /** Websockets lost while waiting for the handshake, and why the last one was (code: message). */
  #lost = 0;
  #lastLost: string | undefined;

  /** What a session that is still starting waits for, in words (for "not ready within …"). */
  progress(): string | undefined {
    if (this.#phase === 'StartSession') return 'waiting for the StartSession answer';
    if (this.#phase !== 'handshake') return undefined;
    const dropped =
      this.#dropped === 0
        ? ''
        : `; ${this.#dropped} malformed record${this.#dropped === 1 ? '' : 's'} from the gateway dropped (last: ${this.#lastDropped ?? '?'})`;
    const lost =
      this.#lost === 0
        ? ''
        : `; the data channel websocket was lost ${this.#lost === 1 ? 'once' : `${this.#lost} times`} (last: ${this.#lastLost ?? '?'})`;
    return `waiting for the agent's handshake${dropped}${lost}`;
  }
  #mux: MuxPort | undefined;
  #ended: SessionEnd | undefined;
  #pendingConnectErrors = 0;
  #resumeRefusal: string | undefined;

  constructor(o: TunnelSessionOptions) {
    super();
    this.#o = o;
  }

  get mode(): 'mux' | 'basic' {
    return this.handshake?.portMode === 'mux' ? 'mux' : 'basic';
  }
  get ended(): boolean {
    return this.#ended !== undefined;
  }
  get ready(): boolean {
    return this.handshake !== undefined && this.#ended === undefined;
  }
  /** Why the session ended (read through a method: callbacks change it across awaits). */
  endState(): SessionEnd | undefined {
    return this.#ended;
  }
  get load(): number {
    return this.connections.size;
  }
  /** A slow local reader holds this session's smux budget (or is about to): no new connections. */
  get stalled(): boolean {
    return this.#mux?.stalled === true;
  }
  /** Basic mode carries one connection at a time; a stalled session takes none. */
  get hasCapacity(): boolean {
    return this.ready && (this.mode === 'mux' ? !this.stalled : this.connections.size === 0);
  }

  /**
   * StartSession, open the data channel and complete the handshake. Rejects with the mapped
   * error (AwsError / SessionError / ForwardError); the session is then ended.
   */
  async start(): Promise<HandshakeInfo> {
    const o = this.#o;
    const req = portForwardingRequest({
      target: o.targetId,
      remotePort: o.remotePort,
      ...(o.remoteHost === undefined ? {} : { remoteHost: o.remoteHost }),
      ...(o.reason === undefined ? {} : { reason: o.reason }),
    });
    this.#phase = 'StartSession';
    const grant = await o.api.startSession(req);
    o.onSecret(grant.tokenValue);
    this.#phase = 'handshake';
    this.sessionId = grant.sessionId;
    if (this.#ended !== undefined) {
      // Shut down while StartSession was in flight: do not leave it open on the service.
      await o.api.terminateSession(grant.sessionId).catch(() => undefined);
      throw new ForwardError('ERR_TUNNEL_STOPPED', 'the forward stopped while the session was starting');
    }
    const channel = o.factory.createChannel({
      streamUrl: grant.streamUrl,
      tokenValue: grant.tokenValue,
      sessionId: grant.sessionId,
      targetId: o.targetId,
      clock: o.clock,
      ...(o.random === undefined ? {} : { random: o.random }),
      resume: async () => {
        let g;
        try {
          g = await o.api.resumeSession(grant.sessionId);
        } catch (err) {
          // Refused (403 AccessDenied, unknown session): retrying the same resume cannot help,
          // so report the session as gone and let the forward start a fresh one. Network
          // errors and throttling are rethrown: the data channel retries those.
          if (isTunnelError(err) && RESUME_REFUSALS.has(err.code)) {
            this.#resumeRefusal = err.message;
            return undefined;
          }
          throw err;
        }
        if (g === undefined) return undefined;
        o.onSecret(g.tokenValue);
        // The reconnect goes to the StreamUrl ResumeSession returned (data-channel.ts).
        return { tokenValue: g.tokenValue, streamUrl: g.streamUrl };
      },
    });
    this.#channel = channel;
    // Records the gateway sends that fail to decode are dropped by the channel; before the
    // handshake they are the likely reason it never completes, so they are counted for progress().
    channel.on('protocol-error', (e: Error) => {
      if (this.#phase !== 'handshake') return;
      this.#dropped++;
      this.#lastDropped = isTunnelError(e) ? `${e.code}: ${e.message}` : e.message;
    });
    // A channel_closed or error before the handshake completes rejects open(); after it, ends the session.
    channel.on('closed', (c: { output?: unknown }) =>
      this.end(
        classifyChannelClosed(typeof c?.output === 'string' ? c.output : '', {
          ...(this.#agentVersion(channel) === undefined ? {} : { agentVersion: this.#agentVersion(channel) }),
        }),
      ),
    );
    channel.on('error', (err: Error) => {
      // A channel that fails (resume refused, even with AccessDenied; resend exhausted; dead
      // peer) says nothing about whether a fresh StartSession would work: never permanent.
      const code = isTunnelError(err) ? err.code : undefined;
      const refusal = this.#resumeRefusal;
      if (refusal !== undefined && code === 'ERR_SESSION_EXPIRED') {
        this.end({
          reason: 'channel-error',
          message: `ResumeSession refused: ${refusal}`,
          code: 'ERR_SESSION_RESUME_FAILED',
          permanent: false,
        });
        return;
      }
      this.end({
        reason: 'channel-error',
        message: err.message,
        ...(code === undefined ? {} : { code }),
        permanent: false,
      });
    });
    channel.on('flag', (code: number) => {
      if (code === FLAG_CONNECT_TO_PORT_ERROR) this.#pendingConnectErrors++;
    });
    channel.on('reconnecting', (reason: unknown) => {
      // Before the handshake a lost websocket (e.g. a message over the size limit) is the likely
      // reason it never completes: counted for progress().
      if (this.#phase === 'handshake') {
        this.#lost++;
        this.#lastLost = isTunnelError(reason) ? `${reason.code}: ${reason.message}` : String(reason);
      }
      this.emit('reconnecting');
    });
    channel.on('reconnected', () => this.emit('reconnected'));
    let hs: HandshakeInfo;
    try {
      hs = await channel.open();
    } catch (err) {
      const end = this.endState();
      channel.close();
      if (end !== undefined && end.permanent) throw sessionEndError(end, err);
      this.end({ reason: 'channel-error', message: (err as Error).message, permanent: false });
      throw err;
    }
    const ended = this.endState();
    if (ended !== undefined) {
      throw sessionEndError(ended);
    }
    this.handshake = hs;
    this.#phase = 'started';
    this.startedAt = o.clock.now();
    if (hs.portMode === 'mux') {
      const mux = o.factory.createMux(channel, { keepAlive: hs.smuxKeepAlive, clock: o.clock });
      this.#mux = mux;
      mux.on('close', (err?: Error) => {
        const code = isTunnelError(err) ? err.code : undefined;
        this.end({
          reason: 'mux-closed',
          message: err?.message ?? 'the smux session closed',
          ...(code === undefined ? {} : { code }),
          permanent: false,
        });
      });
    }
    return hs;
  }

  /** The agent's version from the handshake (the channel knows it before open() returns here). */
  #agentVersion(channel: ChannelPort): string | undefined {
    if (this.handshake !== undefined) return this.handshake.agentVersion;
    const hs = (channel as { handshake?: { agentVersion?: unknown } }).handshake;
    return typeof hs?.agentVersion === 'string' ? hs.agentVersion : undefined;
  }

  /**
   * Run `conn` over this session. Mux: a new stream. `onConnectError` is called when the agent
   * reports ConnectToPortError for it (the Flag comes first, then a FIN on a stream that never
   * carried data: that stream is the one the agent could not connect).
   */
  attach(conn: Connection, hooks: Omit<ConnectionHooks, 'onRemoteEnd'>, onConnectError: (c: Connection) => void): void {
    this.connections.add(conn);
    const full: ConnectionHooks = {
      ...hooks,
      onRemoteEnd: (c) => {
        if (c.bytesIn === 0 && this.#pendingConnectErrors > 0) {
          this.#pendingConnectErrors--;
          onConnectError(c);
          return true;
        }
        return false;
      },
      onClose: (c, e) => {
        this.connections.delete(c);
        hooks.onClose(c, e);
        this.emit('load', this.connections.size);
      },
    };
    if (this.#mux !== undefined) {
      let stream;
      try {
        stream = this.#mux.openStream();
      } catch (err) {
        this.connections.delete(conn);
        conn.abort(err instanceof Error ? err : new Error(String(err)));
        hooks.onClose(conn, err instanceof Error ? err : new Error(String(err)));
        return;
      }
      conn.attachStream(stream, full);
    } else if (this.#channel !== undefined) conn.attachChannel(this.#channel, full);
    else conn.abort(new ForwardError('ERR_TUNNEL_NOT_READY', 'session is not ready'));
  }

  /**
   * Prove the agent reaches the destination: open a stream and watch it. Data, or no
   * ConnectToPortError within `timeoutMs`, is success; ConnectToPortError + FIN is failure.
   * Basic mode cannot probe without disturbing the single connection: it reports skipped.
   * `reason` says which: `data` (the destination spoke first), `quiet` (no refusal within the
   * window), `refused` (ConnectToPortError), `closed` (the stream or session closed otherwise).
   */
  probe(timeoutMs: number): Promise<ProbeResult> {
    const mux = this.#mux;
    if (mux === undefined) return Promise.resolve({ ok: true, skipped: true });
    let stream: ReturnType<MuxPort['openStream']>;
    try {
      stream = mux.openStream();
    } catch {
      return Promise.resolve({ ok: false, skipped: false, reason: 'closed' });
    }
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean, reason: NonNullable<ProbeResult['reason']>): void => {
        if (done) return;
        done = true;
        this.#o.clock.clearTimeout(timer);
        stream.destroy();
        resolve({ ok, skipped: false, reason });
      };
      const timer = this.#o.clock.setTimeout(() => finish(true, 'quiet'), timeoutMs);
      stream.on('data', () => finish(true, 'data'));
      stream.on('error', () => finish(false, 'closed'));
      stream.on('end', () => {
        if (this.#pendingConnectErrors > 0) {
          this.#pendingConnectErrors--;
          finish(false, 'refused');
        } else finish(true, 'closed');
      });
      stream.resume();
    });
  }

  /** End the session locally: close its connections and the channel. Emits 'end' once. */
  end(end: SessionEnd): void {
    if (this.#ended !== undefined) return;
    this.#ended = end;
    const err = new ForwardError('ERR_TUNNEL_SESSION_LOST', `session ended: ${end.message}`);
    for (const c of this.connections) {
      c.detach();
      c.abort(err);
    }
    this.#mux?.close();
    if (end.reason !== 'terminated' && end.reason !== 'idle') this.#channel?.close();
    this.emit('end', end);
  }

  /**
   * Terminate on the service: Flag TerminateSession when the agent understands it, and the
   * TerminateSession API in every case, so nothing lingers. Never rejects.
   */
  async terminate(reason: 'terminated' | 'idle' = 'terminated'): Promise<void> {
    const channel = this.#channel;
    const wasReady = this.handshake !== undefined;
    this.end({ reason, message: reason === 'idle' ? 'closed after idle period' : 'terminated', permanent: false });
    const jobs: Array<Promise<unknown>> = [];
    if (channel !== undefined) {
      if (wasReady && this.handshake?.canSendTerminateFlag === true)
        jobs.push(channel.terminate().catch(() => undefined));
      else channel.close();
    }
    if (this.sessionId !== '') jobs.push(this.#o.api.terminateSession(this.sessionId).catch(() => undefined));
    await Promise.all(jobs);
    channel?.close();
  }
}
