/** `tunnel hosts [NAME…] [--write|--remove] [--file PATH]` (issue #19). */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function hostsCommand(io: CliIo) {
  return defineCommand({
    command: 'hosts [names..]',
    describe: "Hosts-file lines mapping each forward's remote host name to its loopback address (--write, --remove)",
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('names', { type: 'string', array: true, describe: 'forwards or groups (default: all)' })
        .option('write', {
          type: 'boolean',
          default: false,
          describe: 'write the lines into a marked block of the hosts file (backup first)',
        })
        .option('remove', { type: 'boolean', default: false, describe: 'take the marked block out of the hosts file' })
        .option('file', { type: 'string', describe: 'hosts file (default $TUNNEL_HOSTS_FILE, else the system one)' })
        .example('$0 hosts', 'print the lines')
        .example('sudo $0 hosts --write', 'maintain them in /etc/hosts'),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        if (args.write && args.remove) throw new UsageError('--write and --remove exclude each other');
        const { hosts } = await import('./hosts-impl.js');
        return hosts(io, args, args.names ?? [], {
          mode: args.write ? 'write' : args.remove ? 'remove' : 'print',
          file: args.file,
        });
      });
    },
  });
}
