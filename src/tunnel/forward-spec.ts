/**
 * What a forward is, as the config/CLI layers describe it to the engine. Pure types and tiny
 * helpers only: `config/` imports this file, so it must stay free of I/O.
 */

/** Where a target lives when it is not where `defaults` point (issue #15: a `targets` alias's `profile:`/`region:`). */
export interface TargetAccount {
  profile?: string;
  region?: string;
}

/** How the user named the target: an instance/managed-node id, a Name tag value, or tags. */
export type TargetRef = (
  | { kind: 'id'; id: string }
  | { kind: 'name'; name: string }
  | { kind: 'tags'; tags: Record<string, string> }
  | ({ kind: 'ecs' } & EcsRef)
) &
  TargetAccount;

/** `ecs:CLUSTER/NAME[/CONTAINER]`: NAME is a service, or a task id (32 hex digits or a UUID). */
export interface EcsRef {
  cluster: string;
  name: string;
  container?: string;
}

/** A database by name (issue #19): `rds:NAME[/reader|/writer|/instance]`, `cache:NAME[/reader]`. */
export interface DbRef {
  service: 'rds' | 'cache';
  name: string;
  endpoint: 'default' | 'reader' | 'writer' | 'instance';
}

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
  /**
   * Session pool (pool-policy.ts): `'auto'` (default: 1..4, grows with the load and when a slow
   * reader stalls a session, spares close after idle), a fixed count, or `{ min, max }` bounds
   * for the automatic pool. Basic-mode agents get one session per concurrent connection within
   * the same bounds.
   */
  sessions?: number | 'auto' | { min: number; max: number };
  /** Lazy: listener up at start, session on the first connection, closed after idle. */
  lazy?: boolean;
  /** Lazy mode: close sessions after this long without connections; default 5 min. */
  idleTimeoutMs?: number;
  /** After the handshake, open one stream to prove the agent reaches the destination. */
  probe?: boolean;
  /** Audit text passed to StartSession as `Reason`. */
  reason?: string;
  /** AWS profile for this forward's API calls (issue #15); default: the manager's settings. */
  profile?: string;
  /** AWS region for this forward's API calls (issue #15); default: the manager's settings. */
  region?: string;
  /**
   * Issue #19: a database by name. Resolved before the forward starts (cli/named.ts fills
   * `remoteHost` and `remotePort`; the engine never reads this).
   */
  db?: DbRef;
  /** Issue #19: `bind: auto` (one free 127.0.0.x of its own), resolved before start. */
  bindAuto?: boolean;
  /** Issue #19: database user for IAM auth tokens (`user:`), and whether `run` adds a token. */
  dbUser?: string;
  iam?: boolean;
}

/** Default listen addresses: clients disagree on what `localhost` resolves to. */
export const DEFAULT_BIND: readonly string[] = ['127.0.0.1', '::1'];
/** A forward closes a session that has carried no connection for this long (`idleTimeout`). */
export const DEFAULT_SESSION_IDLE_CLOSE_MS = 5 * 60_000;

const ID_RE = /^(i|mi)-[0-9a-f]{8,17}$/;
/** `ecs:<cluster>_<task-id>_<runtime-id>`, the Session Manager form of an ECS Exec target. */
const RAW_ECS_RE = /^ecs:[^/\s:]+_[^/\s:_]+_[^/\s:_]+$/;
const NAME_PART_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The forms of an ECS target, for error messages. */
export const ECS_TARGET_FORMS =
  'ecs:CLUSTER/SERVICE[/CONTAINER], ecs:CLUSTER/TASK_ID[/CONTAINER] or ecs:CLUSTER_TASKID_RUNTIMEID';

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
  // Issue #19: `i-…`/`mi-…` are never Name tags; a malformed one is an error (targetRefProblem).
  if (/^m?i-/.test(s)) return undefined;
  if (s.startsWith('ecs:')) return parseEcsTarget(s);
  if (s.startsWith('tag:')) {
    const tags: Record<string, string> = {};
    for (const part of s.slice(4).split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return undefined;
      // defineProperty: a tag key such as `__proto__` must stay an own entry.
      Object.defineProperty(tags, part.slice(0, eq).trim(), {
        value: part.slice(eq + 1).trim(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
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
    case 'ecs':
      return `ecs:${ref.cluster}/${ref.name}${ref.container === undefined ? '' : `/${ref.container}`}`;
  }
}

/** `ecs:…` target text → a raw Session Manager id (passed through) or an `ecs` reference. */
function parseEcsTarget(s: string): TargetRef | undefined {
  if (RAW_ECS_RE.test(s)) return { kind: 'id', id: s };
  const parts = s.slice(4).split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => NAME_PART_RE.test(p))) return undefined;
  const [cluster, name, container] = parts;
  if (cluster === undefined || name === undefined) return undefined;
  return { kind: 'ecs', cluster, name, ...(container === undefined ? {} : { container }) };
}

/** Why `text` is not a target, naming the expected form; undefined when it parses. */
export function targetRefProblem(text: string): string | undefined {
  const s = text.trim();
  if (parseTargetRef(s) !== undefined) return undefined;
  if (s === '') return 'the target is empty';
  if (/^m?i-/.test(s))
    return `"${s}" is not an instance id: ids are i- followed by 8 or 17 hex digits (i-0123456789abcdef0), or mi- and 17 hex digits; for a Name tag that starts with "${s.slice(0, s.indexOf('-') + 1)}" write { name: ${s} } in the config`;
  if (s.startsWith('ecs:')) return `"${s}" is not an ECS target: expected ${ECS_TARGET_FORMS}`;
  if (s.startsWith('tag:')) return `"${s}" is not a tag selector: expected tag:Key=Value[,Key2=Value2]`;
  return `"${s}" is not a target`;
}

/** `orders`, `orders/reader` … after the `rds:`/`cache:` prefix; undefined when malformed. */
export function parseDbRef(service: 'rds' | 'cache', text: string): DbRef | undefined {
  const [name, endpoint, ...rest] = text.trim().split('/');
  // RDS and ElastiCache identifiers: a letter, then letters, digits and hyphens.
  if (name === undefined || !/^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(name) || rest.length > 0) return undefined;
  if (endpoint === undefined) return { service, name, endpoint: 'default' };
  const allowed = service === 'rds' ? ['reader', 'writer', 'instance'] : ['reader'];
  if (!allowed.includes(endpoint)) return undefined;
  return { service, name, endpoint: endpoint as DbRef['endpoint'] };
}
