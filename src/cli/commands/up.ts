/** `tunnel up [NAME|GROUP…]`: forwards from the config. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function upCommand(io: CliIo) {
  return defineCommand({
    command: 'up [names..]',
    describe: 'Bring up every forward in the config, or the named forwards and groups',
    builder: (y: Argv<GlobalOptions>) =>
      y.positional('names', { type: 'string', array: true, describe: 'forward or group names' }).option('detach', {
        alias: 'd',
        type: 'boolean',
        default: false,
        describe: 'hand the forwards to the background process and return once they are ready',
      }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        if (args.detach) {
          const { upDetached } = await import('../background/up-detached.js');
          return upDetached(io, args, args.names ?? []);
        }
        const { up } = await import('./forward-impl.js');
        return up(io, args, args.names ?? []);
      });
    },
  });
}
