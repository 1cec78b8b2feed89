/**
 * `buildCli(argv, io)`: the yargs instance for `tunnel`, with no side effects on import and
 * nothing read from `process` (see io.ts). `main(argv, io)` parses, runs and returns the exit
 * status: what bin/tunnel.ts hands to the process.
 */
import yargs from 'yargs';
import type { Argv, CommandModule } from 'yargs';
import { UsageError, isTunnelError } from '../errors.js';
import { daemonCommand, downCommand, logsCommand, serviceCommand, statusCommand } from './commands/background.js';
import { completeCommand, completionCommand } from './commands/completion.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { emulatorCommand } from './commands/emulator.js';
import { forwardCommand } from './commands/forward.js';
import { hostsCommand } from './commands/hosts.js';
import { tokenCommand } from './commands/token.js';
import { initCommand } from './commands/init.js';
import { loginCommand, logoutCommand } from './commands/login.js';
import { lsCommand } from './commands/ls.js';
import { runCommandModule } from './commands/run.js';
import { targetsCommand } from './commands/targets.js';
import { upCommand } from './commands/up.js';
import { EXIT } from './exit-codes.js';
import { deriveIo } from './io.js';
import type { CliIo } from './io.js';
import { withGlobalOptions } from './options.js';
import type { GlobalOptions } from './options.js';
import { maskingStream, secretsFromEnv } from './output/redact.js';
import { VERSION } from './version.js';
import { shortText } from '../config/text.js';

/**
 * The io commands write through: every line is masked against the secret values in the
 * environment (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, …).
 */
export function guardedIo(io: CliIo): CliIo {
  const secrets = secretsFromEnv(io.env);
  return deriveIo(io, { stdout: maskingStream(io.stdout, secrets), stderr: maskingStream(io.stderr, secrets) });
}

/**
 * yargs reads `-demo:5432` as the short flags -d -e -m -o ("Unknown arguments: d, e, m, o"): say
 * instead that a word starting with "-" is taken as an option.
 */
function explainUsage(msg: string, argv: readonly string[]): string {
  if (msg.length > 300) return `${msg.slice(0, 300)}…`;
  if (!/^Unknown arguments?:/.test(msg)) return msg;
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  const dashed = words.find((w) => /^-[^-]/.test(w) && w.length > 2 && /[:A-Za-z]/.test(w.slice(1)) && w.includes(':'));
  if (dashed === undefined) return msg;
  return `"${shortText(dashed)}" starts with "-" and is read as options; SPECs start with the target (TARGET:PORT), e.g. ${shortText(dashed.replace(/^-+/, ''))}`;
}

/** The first word of a command module's `command` (`up [names..]` → `up`); undefined for `$0`. */
function commandWord(m: CommandModule<GlobalOptions, never>): string | undefined {
  const c: unknown = Array.isArray(m.command) ? m.command[0] : m.command;
  const word = typeof c === 'string' ? c.split(' ')[0] : undefined;
  return word === undefined || word === '$0' || word === '' ? undefined : word;
}

/**
 * Every command `tunnel` has, in help order. Register new commands here: help, the "did you
 * mean" suggestion for a mistyped command and completion all read this list.
 */
export function commandModules(io: CliIo): Array<CommandModule<GlobalOptions, never>> {
  const safe = guardedIo(io);
  const modules: Array<CommandModule<GlobalOptions, never>> = [];
  const names = (): string[] => modules.filter((m) => m.describe !== false).flatMap((m) => commandWord(m) ?? []);
  // Registered as CommandModule<GlobalOptions, never>: each module's handler argument type is
  // checked where it is defined (define-command.ts); here only the list matters.
  const add = <U>(m: CommandModule<GlobalOptions, U>): void => {
    modules.push(m as unknown as CommandModule<GlobalOptions, never>);
  };
  add(forwardCommand(safe, names));
  add(upCommand(safe));
  add(runCommandModule(safe));
  add(statusCommand(safe));
  add(downCommand(safe));
  add(logsCommand(safe));
  add(daemonCommand(safe));
  add(serviceCommand(safe));
  add(lsCommand(safe));
  add(targetsCommand(safe));
  add(hostsCommand(safe));
  add(tokenCommand(safe));
  add(initCommand(safe));
  add(loginCommand(safe));
  add(logoutCommand(safe));
  // The emulator's whole point is to print its own throwaway credentials: unmasked io.
  add(emulatorCommand(io));
  add(demoCommand(safe));
  add(doctorCommand(safe));
  add(completionCommand(safe));
  add(completeCommand(safe, names));
  return modules;
}

/** The visible command words (`up`, `run`, …), for suggestions and completion. */
export function commandNames(io: CliIo): string[] {
  return commandModules(io).flatMap((m) => (m.describe === false ? [] : (commandWord(m) ?? [])));
}

export function buildCli(argv: readonly string[], io: CliIo): Argv {
  let y = withGlobalOptions(yargs([...argv]))
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
      throw new UsageError(explainUsage(msg, argv));
    });
  for (const m of commandModules(io)) y = y.command(m);
  return y
    .version(VERSION)
    .alias('h', 'help')
    .help()
    .wrap(Math.min(110, io.stdout.columns ?? 100))
    .epilogue(
      'Exit status: 0 ok, 2 usage, 69 target unavailable, 75 retry later, 77 credentials/access, 78 config (docs/cli.md).',
    );
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
    // Bare `tunnel` is someone finding their way: the help, not an error.
    const words = argv.length === 0 ? ['--help'] : [...argv];
    await buildCli(words, recorder).parseAsync(words, {}, (_err, _args, output) => {
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
