/**
 * Shell completion. `tunnel completion [bash|zsh|fish]` prints a script that asks
 * `tunnel __complete` for candidates, so forward and group names come from the project's
 * `.tunnel.yaml`, and profile names from the AWS config files, at the moment of completing.
 */
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { loadConfig, readTextFile } from '../../config/load.js';
import type { CliIo } from '../io.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export const GLOBAL_FLAGS = [
  '--config',
  '--no-user-config',
  '--profile',
  '--region',
  '--endpoint',
  '--proxy',
  '--bind',
  '--wait',
  '--timeout',
  '--json',
  '--quiet',
  '--verbose',
  '--help',
  '--version',
] as const;
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  targets: ['--tag'],
  ls: ['--resolve'],
  init: ['--force', '--stdout'],
  emulator: ['--port'],
  demo: ['--once'],
  up: ['--detach', '-d'],
  status: ['--watch'],
  down: ['--all'],
  logs: ['--follow', '-f'],
  daemon: ['--keep'],
  service: ['--kind', '--stdout'],
};
/** Flags followed by a value (`--config FILE`), for finding the command word. */
const VALUE_FLAGS = new Set([
  '--config',
  '-c',
  '--profile',
  '--region',
  '--endpoint',
  '--proxy',
  '--bind',
  '--timeout',
  '--tag',
  '--port',
  '--kind',
  '--bytes',
  '--index',
  '--sessions',
  '--reason',
]);
/** Commands whose positionals are forward or group names. */
const NAME_COMMANDS = new Set(['up', 'run', 'ls', 'doctor', 'status', 'down', 'logs', 'hosts', 'token']);

export function completionScript(shell: string, name = 'tunnel'): string {
  if (shell === 'bash') {
    return `###-begin-${name}-completions-###
# bash completion for ${name}: source this file, or save it to
# ~/.local/share/bash-completion/completions/${name}
_${name}_completions() {
  local IFS=$'\\n'
  COMPREPLY=( $(${name} __complete --index "$COMP_CWORD" -- "\${COMP_WORDS[@]}" 2>/dev/null) )
}
complete -o default -F _${name}_completions ${name}
###-end-${name}-completions-###
`;
  }
  if (shell === 'zsh') {
    return `#compdef ${name}
# zsh completion for ${name}: save as _${name} in a directory on $fpath, or source it
_${name}() {
  local -a candidates
  candidates=("\${(@f)$(${name} __complete --index $((CURRENT - 1)) -- "\${words[@]}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _${name} ${name}
`;
  }
  if (shell === 'fish') {
    return `# fish completion for ${name}: save as ~/.config/fish/completions/${name}.fish
function __${name}_complete
    set -l cur (commandline -ct)
    set -l words (commandline -opc) "$cur"
    ${name} __complete --index (math (count $words) - 1) -- $words 2>/dev/null
end
complete -c ${name} -f -a '(__${name}_complete)'
`;
  }
  throw new UsageError(`no completion script for "${shell}" (${SHELLS.join(', ')} are supported)`);
}

export function shellFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const sh = env['SHELL'] ?? '';
  return sh.endsWith('zsh') ? 'zsh' : sh.endsWith('fish') ? 'fish' : 'bash';
}

/**
 * Profile names from the shared AWS config files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE,
 * default ~/.aws/config and ~/.aws/credentials): `[profile x]` and `[default]` in config,
 * `[x]` in credentials. Files that cannot be read contribute nothing.
 */
export async function profileNames(io: CliIo): Promise<string[]> {
  const names = new Set<string>();
  const files: Array<[string, boolean]> = [
    [io.env['AWS_CONFIG_FILE'] ?? join(io.homedir, '.aws', 'config'), true],
    [io.env['AWS_SHARED_CREDENTIALS_FILE'] ?? join(io.homedir, '.aws', 'credentials'), false],
  ];
  for (const [file, isConfig] of files) {
    let text: string;
    try {
      text = await readTextFile(file);
    } catch {
      continue;
    }
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$/.exec(line);
      const section = m?.[1];
      if (section === undefined) continue;
      if (!isConfig) names.add(section);
      else if (section === 'default') names.add(section);
      else {
        // `[profile dev]`; `[sso-session x]` and `[services x]` are not profiles.
        const p = /^profile\s+(\S.*)$/.exec(section);
        if (p?.[1] !== undefined) names.add(p[1]);
      }
    }
  }
  return [...names].sort();
}

/**
 * Candidates for `words[index]` (words[0] is the program name); `commands` are the registered
 * command words.
 */
export async function complete(
  io: CliIo,
  words: readonly string[],
  index: number,
  commands: readonly string[],
): Promise<string[]> {
  const cur = words[index] ?? '';
  const before = words.slice(1, index);
  // The value of a flag: `--profile <Tab>` offers profiles; other values (files, regions,
  // ports) are the shell's to complete or the user's to type.
  const previous = before[before.length - 1];
  if (previous !== undefined && VALUE_FLAGS.has(previous)) {
    if (previous !== '--profile') return [];
    return (await profileNames(io)).filter((p) => p.startsWith(cur));
  }
  if (cur.startsWith('--profile=')) {
    return (await profileNames(io)).map((p) => `--profile=${p}`).filter((p) => p.startsWith(cur));
  }
  // The first word that is neither a flag nor a flag's value is the command.
  let command: string | undefined;
  for (let i = 0; i < before.length && command === undefined; i++) {
    const w = before[i] ?? '';
    if (w.startsWith('-')) {
      if (VALUE_FLAGS.has(w)) i++;
    } else command = w;
  }
  if (cur.startsWith('-')) {
    const flags = [...GLOBAL_FLAGS, ...(command === undefined ? [] : (COMMAND_FLAGS[command] ?? []))];
    return flags.filter((f) => f.startsWith(cur));
  }
  if (before.includes('--')) return [];
  let names: string[] = [];
  if (command === undefined || NAME_COMMANDS.has(command)) {
    try {
      const { config } = await loadConfig({ cwd: io.cwd, env: io.env, homedir: io.homedir });
      names = [...Object.keys(config.forwards), ...Object.keys(config.groups)];
    } catch {
      // A broken config must not break the shell's completion.
    }
  }
  const pool = command === undefined ? [...commands, ...names] : NAME_COMMANDS.has(command) ? names : [];
  return pool.filter((c) => c.startsWith(cur));
}
