/** `tunnel token NAME [--user U]`: an RDS IAM auth token (issue #19). */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function tokenCommand(io: CliIo) {
  return defineCommand({
    command: 'token <name>',
    describe: "Print an RDS IAM auth token for a forward's database (real endpoint, port and user)",
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'a forward name, or rds:NAME' })
        .option('user', { type: 'string', describe: 'database user (default: the forward’s user:)' })
        .example('PGPASSWORD=$($0 token db) psql "host=… sslmode=verify-full"', 'connect with IAM auth'),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { token } = await import('./named-impl.js');
        return token(io, args, args.name, args.user);
      });
    },
  });
}
