/** `tunnel ls [NAME|GROUP…]`: the configured forwards, resolved. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function lsCommand(io: CliIo) {
  return defineCommand({
    command: 'ls [names..]',
    describe: 'List the configured forwards and groups (resolved from every config layer)',
    options: ['config', 'user-config', 'profile', 'region', 'endpoint', 'json', 'quiet'],
    builder: (y: Argv<GlobalOptions>) =>
      y.positional('names', { type: 'string', array: true }).option('resolve', {
        type: 'boolean',
        default: false,
        describe: 'look each target up (instance id, ping status) through the SSM API',
      }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { ls } = await import('./info-impl.js');
        return ls(io, args, args.names ?? [], args.resolve);
      });
    },
  });
}
