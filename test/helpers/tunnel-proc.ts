/**
 * The built CLI (`node dist/bin/tunnel.js`) as a subprocess, for tests that drive `tunnel` the way
 * a user does: `tunnelProc(t, args, { cwd, env })` keeps its output, waits on stdout/stderr
 * patterns (events, never sleeps), and is killed at teardown if still running. The one
 * subprocess wrapper of the test suite: cli-proc.ts and identity.ts add their environments.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TunnelProcOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Run under `script` so stdin/stdout are a terminal (an MFA prompt needs one); implies `stdin`. */
  tty?: boolean;
  /** Keep stdin open as a pipe for `write` (default: no stdin). */
  stdin?: boolean;
}

export interface TunnelProc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved as received. */
  all(): string;
  /** Wait until stdout+stderr match (rejects if the process exits first without a match). */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  /** Wait until stdout matches. */
  waitOut(re: RegExp): Promise<RegExpMatchArray>;
  /** Wait until stderr matches. */
  waitErr(re: RegExp): Promise<RegExpMatchArray>;
  /** Wait until `pred` holds, re-checked on every output chunk (rejects if the process exits first). */
  until<T>(pred: () => T | undefined): Promise<T>;
  /** Type into stdin (with `stdin` or `tty`). */
  write(s: string): void;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tunnelProc(t: Teardown, args: readonly string[], options: TunnelProcOptions): TunnelProc {
  const withStdin = options.tty === true || options.stdin === true;
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: options.env,
    stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  };
  if (options.uid !== undefined) spawnOptions.uid = options.uid;
  if (options.gid !== undefined) spawnOptions.gid = options.gid;
  const quoted = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const child =
    options.tty === true
      ? spawn('script', ['-qefc', [process.execPath, BIN, ...args].map(quoted).join(' '), '/dev/null'], spawnOptions)
      : spawn(process.execPath, [BIN, ...args], spawnOptions);
  let out = '';
  let err = '';
  let all = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    all += d.toString();
    child.emit('output');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    all += d.toString();
    child.emit('output');
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const until = async <T>(pred: () => T | undefined, what = 'the awaited output'): Promise<T> => {
    for (let i = 0; i < 100_000; i++) {
      const v = pred();
      if (v !== undefined) return v;
      const r = await Promise.race([once(child, 'output').then(() => 'output'), exit.then(() => 'exit')]);
      if (r === 'exit') {
        const last = pred();
        if (last !== undefined) return last;
        throw new Error(`tunnel exited before ${what}\nstdout: ${out}\nstderr: ${err}`);
      }
    }
    throw new Error('unreachable');
  };
  const match = (text: () => string, name: string, re: RegExp): Promise<RegExpMatchArray> =>
    until(() => text().match(re) ?? undefined, `${name} matched ${re}`);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    all: () => all,
    exit,
    waitFor: (re) => match(() => `${out}\n${err}`, 'its output', re),
    waitOut: (re) => match(() => out, 'stdout', re),
    waitErr: (re) => match(() => err, 'stderr', re),
    until: (pred) => until(pred),
    write(s: string) {
      child.stdin?.write(s);
    },
  };
}

/** Run to completion. */
export async function tunnelRun(
  t: Teardown,
  args: readonly string[],
  options: TunnelProcOptions,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = tunnelProc(t, args, options);
  const { code } = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
