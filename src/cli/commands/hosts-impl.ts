/**
 * `tunnel hosts`: for each forward whose destination has a DNS name (an `rds:`/`cache:` name or
 * `host:`), the line mapping that name to the forward's loopback address, so a client connecting
 * to the real endpoint name (TLS `verify-full`) reaches the tunnel. `bind: auto` forwards have
 * their own 127.0.0.x (the same one `tunnel up` takes); others their first IPv4 bind address.
 */
import { isIP } from 'node:net';
import { selectForwards } from '../../config/resolve.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import { awsSettingsFor } from '../aws-settings.js';
import { plannedLoopbacks } from '../bind-auto.js';
import { loadFor } from '../context.js';
import { hostsLines, hostsPath, updateHostsFile, type HostsEntry } from '../hosts-file.js';
import type { CliIo } from '../io.js';
import { autoBindNames, namedApis, resolveNamedSpecs } from '../named.js';
import type { GlobalArgs } from '../options.js';

export interface HostsOptions {
  mode: 'print' | 'write' | 'remove';
  file: string | undefined;
}

function addressOf(spec: ForwardSpec, planned: Map<string, string>): string | undefined {
  if (spec.bindAuto === true) return planned.get(spec.name);
  const v4 = (spec.bind ?? []).find((a) => isIP(a) === 4);
  if (v4 === undefined) return (spec.bind ?? []).find((a) => a === '::1');
  return v4 === '0.0.0.0' ? '127.0.0.1' : v4;
}

export async function hosts(io: CliIo, args: GlobalArgs, names: readonly string[], o: HostsOptions): Promise<number> {
  const path = hostsPath(o.file, io.env);
  if (o.mode === 'remove') {
    const r = await updateHostsFile(path, undefined);
    if (!args.quiet)
      io.stderr.write(r === 'removed' ? `removed the tunnel block from ${path}\n` : `${path} has no tunnel block\n`);
    return 0;
  }
  const { config } = await loadFor(io, args);
  const specs = selectForwards(config, names);
  const needsApi = specs.some((s) => s.db !== undefined || s.target.kind === 'ecs');
  const resolved = needsApi
    ? (await resolveNamedSpecs(namedApis(await awsSettingsFor(io, config)), specs, { bind: false })).specs
    : specs;
  const planned = plannedLoopbacks(autoBindNames(config.forwards));
  const entries: HostsEntry[] = [];
  for (const s of resolved) {
    const hostname = s.remoteHost;
    if (hostname === undefined || isIP(hostname.replace(/^\[|\]$/g, '')) !== 0 || hostname === 'localhost') continue;
    const address = addressOf(s, planned);
    if (address !== undefined) entries.push({ address, hostname, forward: s.name });
  }
  const lines = hostsLines(entries);
  if (o.mode === 'print') {
    if (lines.length > 0) io.stdout.write(`${lines.join('\n')}\n`);
    else if (!args.quiet) io.stderr.write('no forward has a remote host name to map\n');
    return 0;
  }
  const r = await updateHostsFile(path, lines);
  if (!args.quiet)
    io.stderr.write(
      r === 'unchanged'
        ? `${path}: the tunnel block is up to date (${lines.length} line${lines.length === 1 ? '' : 's'})\n`
        : `${path}: wrote ${lines.length} line${lines.length === 1 ? '' : 's'} in the tunnel block (backup: ${path}.tunnel-backup)\n`,
    );
  return 0;
}
