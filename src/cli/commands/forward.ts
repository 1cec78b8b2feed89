/** `tunnel SPEC…`: ad-hoc forwards (or configured names) in one process. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';
import { specOverrides, withSpecFlags } from '../spec-flags.js';

/** `commands`: the registered command words, for "did you mean `tunnel status`?". */
export function forwardCommand(io: CliIo, commands: () => readonly string[]) {
  return defineCommand({
    command: '$0 [spec..]',
    describe: 'Forward ports: SPEC is NAME, TARGET:REMOTE_PORT[:LOCAL_PORT] or TARGET:HOST:REMOTE_PORT[:LOCAL_PORT]',
    builder: (y: Argv<GlobalOptions>) =>
      withSpecFlags(y)
        .positional('spec', {
          type: 'string',
          array: true,
          describe: 'forward name, group, or TARGET:[HOST:]REMOTE_PORT[:LOCAL_PORT]',
        })
        .example('$0 db:5432', 'port 5432 of target db on localhost:5432')
        .example('$0 bastion:mydb.internal:5432:15432', 'a host behind the target, on localhost:15432')
        .example('$0 i-0123456789abcdef0:22:auto web-1:80', 'two forwards; auto picks a free port')
        .example('$0 db:5432 --sessions 2 --reason "JIRA-123"', 'config-only settings for ad-hoc forwards'),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { forwardSpecs } = await import('./forward-impl.js');
        return forwardSpecs(io, args, args.spec ?? [], commands(), specOverrides(args));
      });
    },
  });
}
