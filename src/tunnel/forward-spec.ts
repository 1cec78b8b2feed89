/**
 * What a forward is, as the config/CLI layers describe it to the engine. Pure types and tiny
 * helpers only: `config/` imports this file, so it must stay free of I/O.
 */

/** How the user named the target: an instance/managed-node id, a Name tag value, or tags. */
export type TargetRef =
  { kind: 'id'; id: string } | { kind: 'name'; name: string } | { kind: 'tags'; tags: Record<string, string> };

export interface ForwardSpec {
  /** Unique name of the forward (events and status are keyed by it). */
  name: string;
  target: TargetRef;
  /** Set ⇒ document AWS-StartPortForwardingSessionToRemoteHost (the agent dials this host). */
  remoteHost?: string;
  /** Destination port (on the target itself, or on `remoteHost`). */
  remotePort: number;
  /** Local port to listen on; `'auto'` picks a free one (reported in status/events). */
  localPort: number | 'auto';
  /** When the preferred `localPort` is busy, pick a free one instead of failing. */
  allowBusyFallback?: boolean;
  /** Local addresses to bind; default `['127.0.0.1', '::1']`. */
  bind?: string[];
  /** Session pool size (mux mode); default 1. Basic-mode agents get one session per connection. */
  sessions?: number;
  /** Lazy: listener up at start, session on the first connection, closed after idle. */
  lazy?: boolean;
  /** Lazy mode: close sessions after this long without connections; default 5 min. */
  idleTimeoutMs?: number;
  /** After the handshake, open one stream to prove the agent reaches the destination. */
  probe?: boolean;
  /** Audit text passed to StartSession as `Reason`. */
  reason?: string;
}

/** Default listen addresses: clients disagree on what `localhost` resolves to. */
export const DEFAULT_BIND: readonly string[] = ['127.0.0.1', '::1'];
/** A forward closes a session that has carried no connection for this long (`idleTimeout`). */
export const DEFAULT_SESSION_IDLE_CLOSE_MS = 5 * 60_000;

const ID_RE = /^(i|mi)-[0-9a-f]{8,17}$/;

/** True for an EC2 instance id (`i-…`) or a managed-node id (`mi-…`). */
export function isInstanceId(s: string): boolean {
  return ID_RE.test(s);
}

/**
 * Parse the user's target text: `i-…`/`mi-…` → id; `tag:Key=Value[,Key2=Value2]` → tags;
 * anything else → a Name tag value. Returns undefined for an empty string or a malformed
 * `tag:` expression.
 */
export function parseTargetRef(text: string): TargetRef | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (isInstanceId(s)) return { kind: 'id', id: s };
  if (s.startsWith('tag:')) {
    const tags: Record<string, string> = {};
    for (const part of s.slice(4).split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return undefined;
      tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    return Object.keys(tags).length > 0 ? { kind: 'tags', tags } : undefined;
  }
  return { kind: 'name', name: s };
}

/** Human text for a target reference (events, error messages). */
export function describeTargetRef(ref: TargetRef): string {
  switch (ref.kind) {
    case 'id':
      return ref.id;
    case 'name':
      return `Name=${ref.name}`;
    case 'tags':
      return Object.entries(ref.tags)
        .map(([k, v]) => `tag:${k}=${v}`)
        .join(',');
  }
}
