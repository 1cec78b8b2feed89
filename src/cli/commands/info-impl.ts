/** `tunnel ls` (configured forwards, resolved) and `tunnel targets` (managed instances). */
import { AwsError, UsageError, isTunnelError, type TunnelError } from '../../errors.js';
import { exitCodeFor } from '../exit-codes.js';
import type { TunnelConfig } from '../../config/schema.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import { selectForwards } from '../../config/resolve.js';
import { describeTargetRef } from '../../tunnel/forward-spec.js';
import { awsSettingsFor } from '../aws-settings.js';
import { loadFor } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';
import { table } from '../output/format.js';

function json(io: CliIo, value: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify({ time: new Date(io.clock.wallNow()).toISOString(), ...value })}\n`);
}

interface Resolution {
  instanceId?: string;
  pingStatus?: string;
  error?: TunnelError;
}

/** A resolution as JSON: the error as its code and message. */
function resolutionJson(r: Resolution | undefined): Record<string, unknown> | null {
  if (r === undefined) return null;
  const { error, ...rest } = r;
  return error === undefined ? rest : { ...rest, error: { code: error.code, message: error.message } };
}

/** `--resolve`: look each target up (DescribeInstanceInformation), as a forward would. */
async function resolveAll(
  io: CliIo,
  config: TunnelConfig,
  specs: readonly ForwardSpec[],
): Promise<Map<string, Resolution>> {
  const { createSsmApi } = await import('../../aws/ssm-api.js');
  const { resolveTarget } = await import('../../tunnel/target.js');
  const api = createSsmApi(await awsSettingsFor(io, config));
  const out = new Map<string, Resolution>();
  await Promise.all(
    specs.map(async (s) => {
      try {
        const r = await resolveTarget(api, s.target);
        out.set(s.name, {
          instanceId: r.instanceId,
          ...(r.pingStatus === undefined ? {} : { pingStatus: r.pingStatus }),
        });
      } catch (e) {
        out.set(s.name, {
          error: isTunnelError(e)
            ? e
            : new AwsError('ERR_AWS_API', e instanceof Error ? e.message : String(e), { cause: e }),
        });
      }
    }),
  );
  return out;
}

export async function ls(io: CliIo, args: GlobalArgs, names: readonly string[], resolve = false): Promise<number> {
  const loaded = await loadFor(io, args);
  const { config } = loaded;
  const specs = selectForwards(config, names);
  const resolved = resolve ? await resolveAll(io, config, specs) : undefined;
  if (args.json) {
    for (const s of specs) {
      json(io, {
        ...(resolved === undefined ? {} : { resolved: resolutionJson(resolved.get(s.name)) }),
        type: 'forward',
        forward: s.name,
        target: s.target,
        remoteHost: s.remoteHost ?? null,
        remotePort: s.remotePort,
        localPort: s.localPort,
        bind: s.bind ?? [],
        lazy: s.lazy ?? false,
        sessions: s.sessions ?? 1,
      });
    }
    for (const [name, members] of Object.entries(config.groups)) json(io, { type: 'group', group: name, members });
    return resolutionStatus(resolved);
  }
  if (!args.quiet) {
    const files = [loaded.userFile, loaded.projectFile].filter((f) => f !== undefined);
    io.stderr.write(
      files.length === 0 ? 'no config files found (run `tunnel init`)\n' : `config: ${files.join(', ')}\n`,
    );
  }
  if (specs.length === 0) return 0;
  const rows = [['FORWARD', 'LOCAL', 'TARGET', ...(resolved === undefined ? [] : ['INSTANCE']), 'REMOTE', 'OPTIONS']];
  for (const s of specs) {
    const local = `${(s.bind ?? []).join(',')} :${s.localPort}${s.allowBusyFallback === true ? '*' : ''}`;
    const opts = [
      s.lazy === true ? 'lazy' : '',
      s.sessions !== undefined ? `sessions=${s.sessions}` : '',
      s.probe === true ? 'probe' : '',
    ].filter((o) => o !== '');
    const r = resolved?.get(s.name);
    const instance =
      r === undefined
        ? []
        : [
            r.instanceId !== undefined
              ? `${r.instanceId}${r.pingStatus === undefined ? '' : ` (${r.pingStatus})`}`
              : `! ${r.error?.code ?? '?'}`,
          ];
    rows.push([
      s.name,
      local,
      describeTargetRef(s.target),
      ...instance,
      `${s.remoteHost ?? 'localhost'}:${s.remotePort}`,
      opts.join(' '),
    ]);
  }
  io.stdout.write(`${table(rows).join('\n')}\n`);
  const groups = Object.entries(config.groups);
  if (groups.length > 0)
    io.stdout.write(`\n${table([['GROUP', 'MEMBERS'], ...groups.map(([g, m]) => [g, m.join(', ')])]).join('\n')}\n`);
  if (resolved !== undefined && !args.quiet) {
    for (const [name, r] of resolved)
      if (r.error !== undefined) io.stderr.write(`${name}: ${r.error.message} [${r.error.code}]\n`);
  }
  return resolutionStatus(resolved);
}

/** 0 when every target resolved; otherwise the status of the first failure (scripts can check). */
function resolutionStatus(resolved: Map<string, Resolution> | undefined): number {
  for (const r of resolved?.values() ?? []) {
    if (r.error === undefined) continue;
    return exitCodeFor(r.error);
  }
  return 0;
}

/** `--tag Role=db` → DescribeInstanceInformation filter `tag:Role` = [db]. */
export function tagFilters(tags: readonly string[]): Array<{ key: string; values: string[] }> {
  const byKey = new Map<string, string[]>();
  for (const t of tags) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag ${t}: expected KEY=VALUE`);
    const k = t.slice(0, eq);
    byKey.set(k, [...(byKey.get(k) ?? []), t.slice(eq + 1)]);
  }
  return [...byKey.entries()].map(([k, values]) => ({ key: `tag:${k}`, values }));
}

export async function targets(io: CliIo, args: GlobalArgs, tags: readonly string[]): Promise<number> {
  const filters = tagFilters(tags);
  const { config } = await loadFor(io, args);
  const { createSsmApi } = await import('../../aws/ssm-api.js');
  const api = createSsmApi(await awsSettingsFor(io, config));
  const instances = await api.describeInstances(filters);
  // The API returns no tags; the Name tag needs one ListTagsForResource per node (10 at a time).
  const names = new Map<string, string>();
  for (let i = 0; i < instances.length; i += 10) {
    await Promise.all(
      instances.slice(i, i + 10).map(async (inst) => {
        const t = await api.listTags(inst.instanceId).catch((): Record<string, string> => ({}));
        const n = t['Name'];
        if (n !== undefined) names.set(inst.instanceId, n);
      }),
    );
  }
  if (args.json) {
    for (const inst of instances) json(io, { type: 'target', ...inst, nameTag: names.get(inst.instanceId) ?? null });
    return 0;
  }
  const rows = [['INSTANCE', 'NAME', 'PING', 'AGENT', 'PLATFORM']];
  for (const inst of instances) {
    rows.push([
      inst.instanceId,
      names.get(inst.instanceId) ?? inst.name ?? inst.computerName ?? '-',
      inst.pingStatus ?? '-',
      inst.agentVersion ?? '-',
      inst.platformName ?? '-',
    ]);
  }
  io.stdout.write(`${table(rows).join('\n')}\n`);
  if (instances.length === 0 && !args.quiet) io.stderr.write('no managed instances match\n');
  return 0;
}
