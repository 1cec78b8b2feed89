/**
 * Typed engine events and per-forward status. Every event is one NDJSON line when printed
 * (`docs/events.md` is the schema). Events never carry tokens or credentials: the forward
 * scrubs every string value against the secrets it has seen before emitting.
 */

/** `needs-login` (issue #15): credentials refused; the port stays open, no API calls until a new sign-in. */
export type ForwardState = 'idle' | 'starting' | 'ready' | 'reconnecting' | 'needs-login' | 'failed' | 'stopped';

export interface ForwardStatus {
  name: string;
  state: ForwardState;
  addresses: Array<{ address: string; port: number }>;
  /** Resolved instance id. */
  target?: string;
  /** host:port as the agent dials it. */
  remote: string;
  connections: { active: number; total: number; failed: number };
  /** Bytes from the remote side to local clients. */
  bytesIn: number;
  /** Bytes from local clients to the remote side. */
  bytesOut: number;
  rateInBps: number;
  rateOutBps: number;
  sessions: Array<{
    sessionId: string;
    agentVersion: string;
    mode: 'mux' | 'basic';
    ageMs: number;
    /** Connections this session carries. */
    connections?: number;
    /** A slow reader holds this session: it takes no new connections. */
    stalled?: boolean;
  }>;
  /** The session pool: ready sessions, starting ones, stalled ones, its bounds, and sessions opened so far. */
  pool?: { sessions: number; starting: number; stalled: number; min: number; max: number; opened: number };
  reconnects: number;
  error?: { code: string; message: string };
}

/** One engine event. `type` values and their fields are listed in docs/events.md. */
export type TunnelEvent = { type: string; time: string; forward?: string; [k: string]: unknown };

export const EVENT_TYPES = [
  'forward-state',
  'target-resolved',
  'listening',
  'warning',
  'session-starting',
  'session-started',
  'session-ended',
  'session-reconnecting',
  'session-resumed',
  'retry-scheduled',
  'connection-opened',
  'connection-closed',
  'connect-error',
  'probe',
  'idle-close',
  'needs-login',
] as const;
export type TunnelEventType = (typeof EVENT_TYPES)[number];

const REDACTED = '[redacted]';

/** Replace every occurrence of a secret in string values (deep). */
export function scrubSecrets<T>(value: T, secrets: ReadonlySet<string>): T {
  if (secrets.size === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      let s = v;
      for (const secret of secrets) if (secret.length >= 8 && s.includes(secret)) s = s.split(secret).join(REDACTED);
      return s;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
