/**
 * The built CLI (`dist/bin/tunnel.js`, built by `npm run build` before tap) as a subprocess, with
 * a clean environment, and ways to wait on its output (never on time).
 */
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Wait until stdout matches (rejects if the process exits first). */
  waitOut(re: RegExp): Promise<RegExpMatchArray>;
  /** Wait until stderr matches (rejects if the process exits first). */
  waitErr(re: RegExp): Promise<RegExpMatchArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tunnel(t: Test, args: string[], options: { env?: Record<string, string>; cwd: string }): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    // A clean environment: no ambient AWS settings, no user config (HOME is the test dir).
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: options.cwd,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...(options.env ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    child.emit('out');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    child.emit('err');
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waitFor = async (text: () => string, event: string, name: string, re: RegExp): Promise<RegExpMatchArray> => {
    for (let i = 0; i < 100_000; i++) {
      const m = text().match(re);
      if (m !== null) return m;
      const r = await Promise.race([once(child, event).then(() => 'more'), exit.then(() => 'exit')]);
      if (r === 'exit') {
        const last = text().match(re);
        if (last !== null) return last;
        throw new Error(`tunnel exited before ${name} matched ${re}\nstdout: ${out}\nstderr: ${err}`);
      }
    }
    throw new Error('unreachable');
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitOut: (re) => waitFor(() => out, 'out', 'stdout', re),
    waitErr: (re) => waitFor(() => err, 'err', 'stderr', re),
  };
}
