/**
 * Everything the CLI needs from its process, injected: tests pass a captured `CliIo`, the bin
 * passes `createProcessIo()`. Nothing under `cli/` reads `process` except `process-io.ts`.
 */
import type { Readable } from 'node:stream';
import type { Clock } from '../clock.js';

export interface OutputStream {
  write(chunk: string): boolean;
  /** Terminal width when the stream is a TTY. */
  columns?: number | undefined;
}

export type SignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** For the MFA prompt; absent = no interactive input. */
  stdin?: Readable | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  homedir: string;
  /** stdout is a terminal: live status table instead of plain lines. */
  isTTY: boolean;
  /** stdin is a terminal: prompting (MFA code) is possible. */
  stdinIsTTY: boolean;
  /** Subscribe to a signal; returns the unsubscribe function. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  /** Where the command's exit status goes (process.exitCode, or a test's variable). */
  setExitCode(code: number): void;
  clock: Clock;
  /**
   * How `tunnel run` connects its child: `inherit` shares our terminal (the real CLI);
   * `pipe` copies the child's output into `stdout`/`stderr` (tests).
   */
  childStdio: 'inherit' | 'pipe';
  /** Path of the running `tunnel` script, for the completion script. */
  scriptPath?: string | undefined;
}

/**
 * A copy of `io` with some members replaced. Methods are bound to the original, so `io` may be
 * a class instance (spreading one would drop its prototype methods).
 */
export function deriveIo(io: CliIo, overrides: Partial<CliIo>): CliIo {
  return {
    stdout: io.stdout,
    stderr: io.stderr,
    stdin: io.stdin,
    env: io.env,
    cwd: io.cwd,
    homedir: io.homedir,
    isTTY: io.isTTY,
    stdinIsTTY: io.stdinIsTTY,
    onSignal: (signal, handler) => io.onSignal(signal, handler),
    setExitCode: (code) => io.setExitCode(code),
    clock: io.clock,
    childStdio: io.childStdio,
    scriptPath: io.scriptPath,
    ...overrides,
  };
}
