/**
 * `buildCli(argv, io)`: the yargs instance for `tunnel`, with no side effects on import and
 * nothing read from `process` (see io.ts). `main(argv, io)` parses, runs and returns the exit
 * status: what bin/tunnel.ts hands to the process.
 */
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { UsageError, isTunnelError } from '../errors.js';
import { completeCommand, completionCommand } from './commands/completion.js';
import { demoCommand } from './commands/demo.js';
import { emulatorCommand } from './commands/emulator.js';
import { forwardCommand } from './commands/forward.js';
import { hostsCommand } from './commands/hosts.js';
import { tokenCommand } from './commands/token.js';
import { initCommand } from './commands/init.js';
import { lsCommand } from './commands/ls.js';
import { runCommandModule } from './commands/run.js';
import { targetsCommand } from './commands/targets.js';
import { upCommand } from './commands/up.js';
import { EXIT } from './exit-codes.js';
import { deriveIo } from './io.js';
import type { CliIo } from './io.js';
import { withGlobalOptions } from './options.js';
import { maskingStream, secretsFromEnv } from './output/redact.js';
import { VERSION } from './version.js';

/**
 * The io commands write through: every line is masked against the secret values in the
 * environment (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, …).
 */
export function guardedIo(io: CliIo): CliIo {
  const secrets = secretsFromEnv(io.env);
  return deriveIo(io, { stdout: maskingStream(io.stdout, secrets), stderr: maskingStream(io.stderr, secrets) });
}

export function buildCli(argv: readonly string[], io: CliIo): Argv {
  const safe = guardedIo(io);
  const y = withGlobalOptions(yargs([...argv]))
    .scriptName('tunnel')
    .usage('$0 SPEC… | $0 <command>\n\nAWS Session Manager port forwarding, without the plugin.')
    // Array options take one value per flag (`--bind a --bind b`, or `--bind a,b`), so a SPEC
    // after `--bind 127.0.0.1` stays a SPEC.
    .parserConfiguration({ 'populate--': true, 'greedy-arrays': false })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs calls this for parse/validation problems (msg) and rethrows handler errors (err).
      if (err !== undefined && err !== null) throw err;
      throw new UsageError(msg);
    })
    .command(forwardCommand(safe))
    .command(upCommand(safe))
    .command(runCommandModule(safe))
    .command(lsCommand(safe))
    .command(targetsCommand(safe))
    .command(hostsCommand(safe))
    .command(tokenCommand(safe))
    .command(initCommand(safe))
    // The emulator's whole point is to print its own throwaway credentials: unmasked io.
    .command(emulatorCommand(io))
    .command(demoCommand(safe))
    .command(completionCommand(safe))
    .command(completeCommand(safe))
    .version(VERSION)
    .alias('h', 'help')
    .help()
    .wrap(Math.min(110, io.stdout.columns ?? 100))
    .epilogue(
      'Exit status: 0 ok, 2 usage, 69 target unavailable, 75 retry later, 77 credentials/access, 78 config (docs/cli.md).',
    );
  return y;
}

/** Parse and run; resolves to the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number = EXIT.OK;
  const recorder = deriveIo(io, {
    setExitCode(c) {
      code = c;
    },
  });
  try {
    await buildCli(argv, recorder).parseAsync([...argv], {}, (_err, _args, output) => {
      // Help and version text come here instead of console.log.
      if (output !== '') io.stdout.write(`${output}\n`);
    });
  } catch (err) {
    code = isTunnelError(err, 'ERR_CLI_USAGE') ? EXIT.USAGE : EXIT.SOFTWARE;
    const msg = err instanceof Error ? err.message : String(err);
    const out = guardedIo(io);
    if (argv.includes('--json')) {
      const errorCode = isTunnelError(err) ? err.code : undefined;
      out.stdout.write(
        `${JSON.stringify({ type: 'error', time: new Date(io.clock.wallNow()).toISOString(), code: errorCode, message: msg, exitCode: code })}\n`,
      );
    }
    out.stderr.write(`tunnel: ${msg}\n${code === EXIT.USAGE ? 'Run `tunnel --help` for usage.\n' : ''}`);
  }
  io.setExitCode(code);
  return code;
}
