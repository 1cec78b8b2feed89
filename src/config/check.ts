/**
 * Cross-entry checks on the merged config: every forward's target resolves, every group member
 * exists (and groups do not contain themselves), no two forwards claim the same local port on
 * the same address, and forward names stay distinct once turned into `TUNNEL_<NAME>_*` variables.
 */
import type { ConfigIssue } from '../errors.js';
import { parseTargetRef, targetRefProblem } from '../tunnel/forward-spec.js';
import { didYouMean } from './closest.js';
import { findGroupCycles } from './groups.js';
import { formatPath } from './source.js';
import type { ConfigPath } from './source.js';
import type { TunnelConfig } from './schema.js';

/** `db-replica` → `DB_REPLICA`, as used in `TUNNEL_DB_REPLICA_PORT`. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function declared(config: TunnelConfig, section: 'targets' | 'forwards' | 'groups'): Set<string> {
  const names = new Set(Object.keys(config[section]));
  for (const k of config.origins.keys()) if (k.startsWith(`${section}.`)) names.add(k.slice(section.length + 1));
  return names;
}

function bindsOverlap(a: readonly string[], b: readonly string[]): boolean {
  const wild4 = (x: string): boolean => x === '0.0.0.0';
  const wild6 = (x: string): boolean => x === '::';
  for (const x of a) {
    for (const y of b) {
      if (x === y || wild6(x) || wild6(y)) return true;
      if ((wild4(x) && !y.includes(':')) || (wild4(y) && !x.includes(':'))) return true;
    }
  }
  return false;
}

export function checkConfig(config: TunnelConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (
    section: string,
    name: string,
    rest: ConfigPath,
    message: string,
    hint?: string,
    part: 'key' | 'value' = 'value',
  ): void => {
    const path: ConfigPath = [section, name, ...rest];
    const source = config.origins.get(`${section}.${name}`);
    issues.push({
      ...(source === undefined ? {} : source.locate(path, part)),
      path: formatPath(path),
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  };
  const targetNames = declared(config, 'targets');
  const forwardNames = declared(config, 'forwards');
  const groupNames = declared(config, 'groups');

  for (const [name, f] of Object.entries(config.forwards)) {
    if (typeof f.target !== 'string' || targetNames.has(f.target)) continue;
    const ref = parseTargetRef(f.target);
    if (ref !== undefined && ref.kind !== 'name') continue;
    // Issue #19: a malformed instance id or ECS target is reported as such, not as an alias.
    if (ref === undefined && /^(m?i-|ecs:)/.test(f.target)) {
      add('forwards', name, ['target'], targetRefProblem(f.target) ?? `"${f.target}" is not a target`);
      continue;
    }
    const hint =
      didYouMean(f.target, [...targetNames]) ??
      (targetNames.size > 0 ? `aliases: ${[...targetNames].join(', ')}` : 'define it under `targets:`');
    add(
      'forwards',
      name,
      ['target'],
      `unknown target alias "${f.target}"`,
      `${hint}${hint.endsWith('?') ? '' : '.'} For a Name tag write \`target: { name: ${f.target} }\``,
    );
  }

  // Issue #19: `bastion:` names an alias or a target like `forwards.X.target` does.
  const bastion = config.bastion;
  if (typeof bastion === 'string' && !targetNames.has(bastion) && parseTargetRef(bastion) === undefined) {
    const source = config.origins.get('bastion');
    issues.push({
      ...(source === undefined ? {} : source.locate(['bastion'], 'value')),
      path: 'bastion',
      message: targetRefProblem(bastion) ?? `"${bastion}" is not a target`,
      hint: 'an instance id, a targets alias, tag:Key=Value, or a Name tag value',
    });
  }

  for (const name of groupNames) {
    if (forwardNames.has(name))
      add('groups', name, [], `"${name}" is both a group and a forward`, 'rename one of them', 'key');
  }
  for (const [name, members] of Object.entries(config.groups)) {
    members.forEach((m, i) => {
      if (forwardNames.has(m) || groupNames.has(m)) return;
      add(
        'groups',
        name,
        [i],
        `unknown forward or group "${m}"`,
        didYouMean(m, [...forwardNames, ...groupNames], `forwards: ${[...forwardNames].join(', ') || '(none)'}`),
      );
    });
  }
  for (const cycle of findGroupCycles(config.groups)) {
    const name = cycle[0] ?? '';
    add(
      'groups',
      name,
      [],
      `group "${name}" contains itself (${cycle.join(' → ')})`,
      'remove one of the nested groups',
      'key',
    );
  }

  const seenPorts: Array<{ name: string; port: number; bind: string[] }> = [];
  for (const [name, f] of Object.entries(config.forwards)) {
    if (typeof f.localPort !== 'number') continue;
    const bind = f.bind ?? config.defaults.bind;
    const clash = seenPorts.find((s) => s.port === f.localPort && bindsOverlap(s.bind, bind));
    if (clash !== undefined) {
      const loc = config.origins.get(`forwards.${clash.name}`)?.locate(['forwards', clash.name, 'localPort']);
      const where = loc?.line === undefined ? '' : ` (${loc.file ?? ''}:${loc.line})`;
      add(
        'forwards',
        name,
        ['localPort'],
        `local port ${f.localPort} is also used by forward "${clash.name}"${where}`,
        'give each forward its own localPort, or `auto`',
      );
    } else seenPorts.push({ name, port: f.localPort, bind });
  }

  const byEnv = new Map<string, string>();
  for (const name of forwardNames) {
    const e = envName(name);
    const other = byEnv.get(e);
    if (other !== undefined)
      add(
        'forwards',
        name,
        [],
        `forward names "${other}" and "${name}" both become TUNNEL_${e}_*`,
        'rename one of them',
        'key',
      );
    else byEnv.set(e, name);
  }
  return issues;
}
