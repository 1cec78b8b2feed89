/**
 * Shell completion. `tunnel completion [bash|zsh]` prints a script that asks
 * `tunnel __complete` for candidates, so forward and group names come from the project's
 * `.tunnel.yaml` at the moment of completing.
 */
import { UsageError } from '../../errors.js';
import { loadConfig } from '../../config/load.js';
import type { CliIo } from '../io.js';

export const COMMANDS = [
  'up',
  'run',
  'ls',
  'targets',
  'hosts',
  'token',
  'init',
  'emulator',
  'demo',
  'completion',
] as const;
export const GLOBAL_FLAGS = [
  '--config',
  '--no-user-config',
  '--profile',
  '--region',
  '--endpoint',
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
};
/** Flags followed by a value (`--config FILE`), for finding the command word. */
const VALUE_FLAGS = new Set([
  '--config',
  '-c',
  '--profile',
  '--region',
  '--endpoint',
  '--bind',
  '--timeout',
  '--tag',
  '--port',
  '--bytes',
  '--index',
]);
/** Commands whose positionals are forward or group names. */
const NAME_COMMANDS = new Set(['up', 'run', 'ls', 'hosts', 'token']);

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
  throw new UsageError(`no completion script for "${shell}" (bash and zsh are supported)`);
}

export function shellFromEnv(env: Readonly<Record<string, string | undefined>>): string {
  const sh = env['SHELL'] ?? '';
  return sh.endsWith('zsh') ? 'zsh' : 'bash';
}

/** Candidates for `words[index]` (words[0] is the program name). */
export async function complete(io: CliIo, words: readonly string[], index: number): Promise<string[]> {
  const cur = words[index] ?? '';
  const before = words.slice(1, index);
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
  const pool = command === undefined ? [...COMMANDS, ...names] : NAME_COMMANDS.has(command) ? names : [];
  return pool.filter((c) => c.startsWith(cur));
}
