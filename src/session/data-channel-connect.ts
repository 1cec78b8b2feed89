/**
 * The connect step of the DataChannel, kept apart from its state machine: which transport opens
 * the StreamUrl (an injected `connect`, or the ws transport with the per-connect SigV4 headers and
 * network route from `prepareConnect`), how a ResumeSession answer is read, and which connect
 * failures are final.
 */
import { SessionError } from '../errors.js';
import type { DataChannelOptions, ResumeGrant } from './data-channel-options.js';
import type { MessageTransport } from './message-transport.js';

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
