/** `tunnel demo [--once]`: emulator + demo services + forwards + a self-check. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function demoCommand(io: CliIo) {
  return defineCommand({
    command: 'demo',
    describe: 'Try it with no AWS account: embedded emulator, demo services, forwards and a self-check',
    options: ['json', 'quiet', 'verbose'],
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('once', {
          type: 'boolean',
          default: false,
          describe: 'exit after the self-check: 0 only if every check passed',
        })
        .option('bytes', { type: 'number', default: 1024 * 1024, describe: 'size of the throughput/sha256 transfers' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { runDemo } = await import('./demo-impl.js');
        return runDemo(io, args, { once: args.once, bytes: args.bytes });
      });
    },
  });
}
