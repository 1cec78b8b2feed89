/** `tunnel run [NAME|SPEC…] -- CMD [ARGS…]`. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import { deriveIo } from '../io.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';
import { specOverrides, withSpecFlags } from '../spec-flags.js';

/** The words after `--` (yargs' `populate--`). */
function afterDoubleDash(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

export function runCommandModule(io: CliIo) {
  return defineCommand({
    command: 'run [names..]',
    describe: 'Bring forwards up, run a command with TUNNEL_<NAME>_HOST/_PORT/_ADDR set, exit with its status',
    builder: (y: Argv<GlobalOptions>) =>
      withSpecFlags(y)
        .usage(
          '$0 run [NAME|GROUP|SPEC…] -- CMD [ARGS…]\n\nBring forwards up, run CMD (no shell) with TUNNEL_<NAME>_HOST/_PORT/_ADDR set, exit with its status',
        )
        .positional('names', {
          type: 'string',
          array: true,
          describe: 'forwards, groups or SPECs (default: every forward in the config)',
        })
        .example('$0 run db -- psql -h {db.host} -p {db.port}', '{name.port}-style placeholders in the arguments')
        .example('$0 run -- npm run dev', 'every configured forward, then the dev server'),
    handler: async (args) => {
      // Errors, like all of tunnel's own output under `run`, go to stderr (stdout is the command's).
      await runCommand(deriveIo(io, { stdout: io.stderr }), { ...reportOptions(args), text: !args.json }, async () => {
        const { runWith } = await import('./run-impl.js');
        return runWith(io, args, args.names ?? [], afterDoubleDash(args['--']), specOverrides(args));
      });
    },
  });
}
