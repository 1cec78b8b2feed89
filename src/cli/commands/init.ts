/** `tunnel init`: a commented starter `.tunnel.yaml`. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function initCommand(io: CliIo) {
  return defineCommand({
    command: 'init',
    describe: 'Write a commented starter .tunnel.yaml in the current directory',
    options: ['quiet'],
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing .tunnel.yaml' })
        .option('stdout', { type: 'boolean', default: false, describe: 'print it instead of writing the file' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { init } = await import('./init-impl.js');
        return init(io, { force: args.force, stdout: args.stdout, quiet: args.quiet });
      });
    },
  });
}
