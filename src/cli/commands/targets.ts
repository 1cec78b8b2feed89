/** `tunnel targets [--tag K=V]`: managed instances. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function targetsCommand(io: CliIo) {
  return defineCommand({
    command: 'targets',
    describe: 'List managed instances: id, Name tag, ping status, agent version, platform',
    options: ['config', 'user-config', 'profile', 'region', 'endpoint', 'json', 'quiet'],
    builder: (y: Argv<GlobalOptions>) =>
      y.option('tag', { type: 'string', array: true, describe: 'only instances with tag KEY=VALUE (repeatable)' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { targets } = await import('./info-impl.js');
        return targets(io, args, args.tag ?? []);
      });
    },
  });
}
