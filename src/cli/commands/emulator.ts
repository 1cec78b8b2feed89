/** `tunnel emulator [--config emu.yaml] [--port N]`: the embedded Session Manager emulator. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function emulatorCommand(io: CliIo) {
  return defineCommand({
    command: 'emulator',
    describe: 'Run the embedded SSM emulator; prints export lines for its endpoint and throwaway credentials',
    options: ['config', 'region', 'json', 'quiet'],
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('port', { type: 'number', describe: 'listen port on 127.0.0.1 (default 0: a free port)' })
        .example('$0 emulator --port 4566', 'then paste the printed export lines into another shell')
        .epilogue('Here --config names an emulator config file (docs/emulator.md), not a .tunnel.yaml.'),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { runEmulator } = await import('./emulator-impl.js');
        return runEmulator(io, { configFile: args.config, port: args.port, json: args.json, quiet: args.quiet });
      });
    },
  });
}
