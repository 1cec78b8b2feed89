/**
 * The one place command handlers go through: run the implementation, map what it throws to
 * an exit status (exit-codes.ts) and report it, then hand the status to `io.setExitCode`.
 * An implementation returns its own status (0, or the child's status for `tunnel run`).
 */
import { exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { reportError } from './report.js';
import type { ReportOptions } from './report.js';

export async function runCommand(io: CliIo, options: ReportOptions, fn: () => Promise<number | void>): Promise<number> {
  let code: number;
  try {
    code = (await fn()) ?? 0;
  } catch (err) {
    code = exitCodeFor(err);
    reportError(io, err, code, options);
  }
  io.setExitCode(code);
  return code;
}
