/**
 * The connect steps of the DataChannel, kept apart from its state machine: which transport opens
 * the StreamUrl (an injected `connect`, or the ws transport with the per-connect SigV4 headers and
 * network route from `prepareConnect`), the ResumeSession → reconnect cycle, how a ResumeSession
 * answer is read, and which connect failures are final.
 */
import { SessionError } from '../errors.js';
import type { DataChannelOptions, ResumeGrant } from './data-channel-options.js';
import type { MessageTransport } from './message-transport.js';
import type { ReconnectBackoff } from './reconnect-policy.js';

/**
 * Open `url`. `prepareConnect` runs at every connect, so the signature uses the credentials of
 * that moment and a long-running channel follows SSO and role refreshes.
 */
export async function openTransport(opts: DataChannelOptions, url: string): Promise<MessageTransport> {
  if (opts.connect !== undefined) return opts.connect(url);
  const extras = opts.prepareConnect === undefined ? {} : await opts.prepareConnect(url);
  const { connectWebSocket } = await import('./ws-transport.js');
  const high = opts.transportHighWaterBytes;
  return connectWebSocket(url, high === undefined ? extras : { ...extras, highWaterBytes: high });
}

/** A ResumeSession answer as token and StreamUrl ('' / undefined: keep the current URL). */
export function readResumeGrant(grant: string | ResumeGrant | undefined): { token?: string; streamUrl?: string } {
  if (grant === undefined) return {};
  if (typeof grant === 'string') return { token: grant };
  return grant.streamUrl === undefined
    ? { token: grant.tokenValue }
    : { token: grant.tokenValue, streamUrl: grant.streamUrl };
}

/** HTTP 401/403 on the upgrade: the same signature/URL would be refused again. */
export function isRefusedUpgrade(e: unknown): e is SessionError {
  return e instanceof SessionError && e.code === 'ERR_SESSION_UPGRADE_REFUSED';
}

/** Failures a retry cannot fix: a refused URL (plain ws:// off loopback) or a refused upgrade. */
export function isFinalConnectError(e: unknown): e is SessionError {
  return (e instanceof SessionError && e.code === 'ERR_SESSION_INSECURE_URL') || isRefusedUpgrade(e);
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** How a resume ended: a new transport with the token and URL it was opened with, or why not. */
export type ResumeOutcome =
  | { kind: 'connected'; transport: MessageTransport; token: string; streamUrl: string }
  | { kind: 'failed'; error: SessionError }
  | { kind: 'closed' };

/**
 * ResumeSession, then connect to the StreamUrl it returned, on `backoff`'s schedule: the first
 * attempt after a healthy connection is immediate, later ones wait longer and longer (the
 * schedule is kept across drops), until a transport is open or the schedule runs out.
 *
 * - No token in the answer: the session has ended on the service (ERR_SESSION_EXPIRED, at once).
 * - HTTP 401/403 on the upgrade: the same signature and URL would be refused again (at once).
 * - `isClosed()` turning true stops the cycle ('closed').
 */
export async function resumeConnect(
  opts: DataChannelOptions,
  backoff: ReconnectBackoff,
  reason: SessionError,
  channel: { url: () => string; isClosed: () => boolean },
): Promise<ResumeOutcome> {
  let lastError: unknown = reason;
  let url = channel.url();
  for (;;) {
    if (channel.isClosed()) return { kind: 'closed' };
    if (!(await backoff.wait())) break;
    if (channel.isClosed()) return { kind: 'closed' };
    let token: string | undefined;
    let freshUrl: string | undefined;
    try {
      ({ token, streamUrl: freshUrl } = readResumeGrant(await opts.resume()));
    } catch (e) {
      lastError = new SessionError('ERR_SESSION_RESUME_FAILED', `ResumeSession failed: ${messageOf(e)}`, {
        cause: e,
      });
      continue;
    }
    if (channel.isClosed()) return { kind: 'closed' };
    if (token === undefined || token === '') {
      const msg = `session ${opts.sessionId} has ended on the service (ResumeSession returned no token)`;
      return { kind: 'failed', error: new SessionError('ERR_SESSION_EXPIRED', msg) };
    }
    // INTEROP (client 1.2.835.0+): connect to the StreamUrl ResumeSession returned (a new
    // `cell-number`); the service refuses the old one once a session was resumed. An empty
    // one keeps the current URL. Same ClientId, sequence numbers continue.
    if (freshUrl !== undefined && freshUrl !== '') url = freshUrl;
    try {
      const transport = await openTransport(opts, url);
      return { kind: 'connected', transport, token, streamUrl: url };
    } catch (e) {
      if (isRefusedUpgrade(e)) {
        lastError = e; // HTTP 403: the same signature/URL would be refused again
        break;
      }
      lastError = new SessionError('ERR_SESSION_CONNECT_FAILED', `reconnect failed: ${messageOf(e)}`, { cause: e });
    }
  }
  const error =
    lastError instanceof SessionError
      ? lastError
      : new SessionError('ERR_SESSION_RESUME_FAILED', `reconnect failed: ${messageOf(lastError)}`, {
          cause: lastError,
        });
  return { kind: 'failed', error };
}
