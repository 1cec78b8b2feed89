/** `tunnel completion [bash|zsh]` and the hidden `tunnel __complete` it calls. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function completionCommand(io: CliIo) {
  return defineCommand({
    command: 'completion [shell]',
    describe: 'Print a shell completion script (bash, zsh or fish): source <(tunnel completion)',
    options: [],
    builder: (y: Argv<GlobalOptions>) =>
      y.positional('shell', { type: 'string', choices: ['bash', 'zsh', 'fish'] as const }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { completionScript, shellFromEnv } = await import('./completion-impl.js');
        io.stdout.write(completionScript(args.shell ?? shellFromEnv(io.env)));
      });
    },
  });
}

export function completeCommand(io: CliIo, commands: () => readonly string[]) {
  return defineCommand({
    command: '__complete [words..]',
    describe: false,
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('words', { type: 'string', array: true })
        .option('index', { type: 'number', demandOption: true })
        .strict(false),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { complete } = await import('./completion-impl.js');
        const words = Array.isArray(args['--']) ? args['--'].map((w) => String(w)) : (args.words ?? []);
        for (const c of await complete(io, words, args.index, commands())) io.stdout.write(`${c}\n`);
      });
    },
  });
}
