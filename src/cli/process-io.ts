/** The real process behind `CliIo`: the only file under cli/ that reads `process`. */
import { homedir } from 'node:os';
import { systemClock } from '../clock.js';
import type { CliIo, SignalName } from './io.js';

export function createProcessIo(): CliIo {
  // `tunnel ls | head`: a closed pipe ends the output, not the process with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  return {
    stdout: {
      write: (s: string) => process.stdout.write(s),
      get columns() {
        return process.stdout.columns;
      },
    },
    stderr: { write: (s: string) => process.stderr.write(s) },
    stdin: process.stdin,
    // A snapshot: settings this process makes for itself later never reach children.
    env: { ...process.env },
    cwd: process.cwd(),
    homedir: homedir(),
    isTTY: process.stdout.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    onSignal(signal: SignalName, handler: () => void) {
      process.on(signal, handler);
      return () => {
        process.off(signal, handler);
      };
    },
    setExitCode(code: number) {
      process.exitCode = code;
    },
    clock: systemClock,
    childStdio: 'inherit',
    scriptPath: process.argv[1],
  };
}

/** Exit once stdout and stderr have flushed (pipes may still hold the last lines). */
export function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
