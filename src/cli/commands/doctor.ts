/** `tunnel doctor [NAME|SPEC…]`: find out why a forward does not work. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function doctorCommand(io: CliIo) {
  return defineCommand({
    command: 'doctor [spec..]',
    describe: 'Check runtime, credentials, clock, endpoints, targets, permissions, destinations and local ports',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('spec', {
          type: 'string',
          array: true,
          describe: 'forward names, groups or SPECs (default: every configured forward)',
        })
        .example('$0 doctor', 'check every configured forward')
        .example('$0 doctor db --json', 'one JSON object per check (docs/doctor.schema.json)'),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { doctor } = await import('../doctor/index.js');
        return doctor(io, args, args.spec ?? []);
      });
    },
  });
}
