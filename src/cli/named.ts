/**
 * Issue #19, before forwards start: databases by name (`rds:`/`cache:`) become the host and port
 * the bastion dials, ECS references become `ecs:<cluster>_<task-id>_<runtime-id>` targets, and
 * `bind: auto` forwards get their loopback address. Everything else passes through unchanged.
 *
 * The resolution functions live in tunnel/named-targets.ts (shared with `tunnel doctor`); this
 * file only wires them to SDK clients built from the CLI's AWS settings, once per run.
 */
import type { ElastiCacheApi, RdsApi } from '../aws/databases.js';
import type { EcsApi } from '../aws/ecs.js';
import type { AwsSettings } from '../aws/settings.js';
import { envName } from '../config/check.js';
import { impliedLocalPort } from '../config/resolve.js';
import type { ForwardSpec } from '../tunnel/forward-spec.js';
import {
  resolveCache,
  resolveEcsTarget,
  resolveRds,
  type EcsTargetResolution,
  type NamedDestination,
} from '../tunnel/named-targets.js';
import { pickLoopback, plannedLoopbacks } from './bind-auto.js';

/**
 * The AWS APIs the resolution needs, created on first use: their SDK clients are loaded only by
 * runs that name a database or an ECS task (startup stays fast for plain forwards).
 */
export interface NamedApis {
  rds(): Promise<RdsApi>;
  cache(): Promise<ElastiCacheApi>;
  ecs(): Promise<EcsApi>;
}

export function namedApis(aws: AwsSettings): NamedApis {
  let rds: Promise<RdsApi> | undefined;
  let cache: Promise<ElastiCacheApi> | undefined;
  let ecs: Promise<EcsApi> | undefined;
  return {
    rds: () => (rds ??= import('../aws/databases.js').then((m) => m.createRdsApi(aws))),
    cache: () => (cache ??= import('../aws/databases.js').then((m) => m.createElastiCacheApi(aws))),
    ecs: () => (ecs ??= import('../aws/ecs.js').then((m) => m.createEcsApi(aws))),
  };
}

/** A database forward's destination. */
export async function resolveDestination(apis: NamedApis, spec: ForwardSpec): Promise<NamedDestination | undefined> {
  if (spec.db === undefined) return undefined;
  return spec.db.service === 'rds' ? resolveRds(await apis.rds(), spec.db) : resolveCache(await apis.cache(), spec.db);
}

export interface ResolvedNamed {
  specs: ForwardSpec[];
  /** Per forward name. */
  destinations: Map<string, NamedDestination>;
  ecs: Map<string, EcsTargetResolution>;
  /** Notes for the user (an auto address that moved). */
  notes: string[];
}

/** Resolve names only (no binding): what `tunnel hosts` and `tunnel token` need. */
export async function resolveNamedSpecs(
  apis: NamedApis,
  specs: readonly ForwardSpec[],
  options: { bind: boolean; autoNames?: readonly string[] } = { bind: true },
): Promise<ResolvedNamed> {
  // Every `bind: auto` forward of the config gets its address in config order, whichever of them
  // this run brings up, so `tunnel hosts` (a separate run) names the same addresses.
  const planned = plannedLoopbacks([
    ...new Set([...(options.autoNames ?? []), ...specs.filter((s) => s.bindAuto === true).map((s) => s.name)]),
  ]);
  const destinations = new Map<string, NamedDestination>();
  const ecs = new Map<string, EcsTargetResolution>();
  const notes: string[] = [];
  const taken = new Set<string>();
  const out: ForwardSpec[] = [];
  for (const original of specs) {
    const spec: ForwardSpec = { ...original };
    const dest = await resolveDestination(apis, spec);
    if (dest !== undefined) {
      destinations.set(spec.name, dest);
      spec.remoteHost = dest.host;
      if (spec.remotePort === 0) spec.remotePort = dest.port;
      // The local port was implied: the database's own port (bind: auto keeps it exactly).
      if (spec.allowBusyFallback === true)
        spec.localPort = spec.bindAuto === true ? spec.remotePort : impliedLocalPort(spec.remotePort);
    }
    if (spec.target.kind === 'ecs') {
      const r = await resolveEcsTarget(await apis.ecs(), spec.target);
      ecs.set(spec.name, r);
      spec.target = { kind: 'id', id: r.targetId };
    }
    if (spec.bindAuto === true && options.bind) {
      const port = typeof spec.localPort === 'number' ? spec.localPort : 0;
      const picked = await pickLoopback(spec.name, port, taken, planned.get(spec.name));
      spec.bind = [picked.address];
      // The address is the forward's own: the port must be exactly this one.
      if (typeof spec.localPort === 'number') delete spec.allowBusyFallback;
      if (picked.movedFrom !== undefined)
        notes.push(
          `${spec.name}: ${picked.movedFrom}:${port} is busy, listening on ${picked.address} instead (rerun \`tunnel hosts --write\` for this run)`,
        );
    }
    out.push(spec);
  }
  return { specs: out, destinations, ecs, notes };
}

/**
 * `TUNNEL_<NAME>_TOKEN` and `_USER` for forwards with `iam: true` (made just before the command
 * starts: a token is valid 15 minutes for new connections). Tokens go only into the child's
 * environment, never into output.
 */
export async function iamEnv(aws: AwsSettings, specs: readonly ForwardSpec[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (!specs.some((s) => s.iam === true)) return env;
  const { rdsAuthToken } = await import('../aws/rds-token.js');
  for (const s of specs) {
    if (s.iam !== true || s.dbUser === undefined || s.remoteHost === undefined) continue;
    const n = envName(s.name);
    env[`TUNNEL_${n}_TOKEN`] = await rdsAuthToken(aws, { hostname: s.remoteHost, port: s.remotePort, user: s.dbUser });
    env[`TUNNEL_${n}_USER`] = s.dbUser;
  }
  return env;
}

/** One line per resolved name, for the user. */
export function describeResolved(r: ResolvedNamed): string[] {
  const lines: string[] = [];
  for (const [name, d] of r.destinations) lines.push(`${name}: ${d.description} at ${d.host}:${d.port}`);
  for (const [name, e] of r.ecs)
    lines.push(`${name}: ECS task ${e.taskId} container ${e.container} in ${e.cluster} (${e.targetId})`);
  return [...lines, ...r.notes];
}

/** Names of the config's `bind: auto` forwards, in config order. */
export function autoBindNames(forwards: Record<string, { bindAuto?: boolean }>): string[] {
  return Object.entries(forwards)
    .filter(([, f]) => f.bindAuto === true)
    .map(([n]) => n);
}

/**
 * `--bind auto` on the command line: every forward of the run gets `bind: auto`. Returns the
 * arguments without it (the config layer takes only IP literals) and whether it was given.
 */
export function stripBindAuto<A extends { bind?: string[] | undefined }>(args: A): { args: A; bindAuto: boolean } {
  if (args.bind === undefined) return { args, bindAuto: false };
  const words = args.bind.flatMap((b) => b.split(',')).map((b) => b.trim());
  if (!words.includes('auto')) return { args, bindAuto: false };
  const rest = words.filter((b) => b !== 'auto' && b !== '');
  return { args: { ...args, bind: rest.length === 0 ? undefined : rest }, bindAuto: true };
}

/** Mark specs for `--bind auto`. */
export function withBindAuto(specs: ForwardSpec[], bindAuto: boolean): ForwardSpec[] {
  return bindAuto ? specs.map((s) => ({ ...s, bindAuto: true })) : specs;
}
