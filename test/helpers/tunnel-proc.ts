/**
 * The built CLI (`node dist/bin/tunnel.js`) as a subprocess, for tests that drive `tunnel` the way
 * a user does: `tunnelProc(t, args, { cwd, env })` keeps its output, waits on stdout/stderr
 * patterns (events, never sleeps), and is killed at teardown if still running.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TunnelProc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Wait until stdout+stderr match (rejects if the process exits first without a match). */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tunnelProc(
  t: Teardown,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number },
): TunnelProc {
  const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] };
  if (options.uid !== undefined) spawnOptions.uid = options.uid;
  if (options.gid !== undefined) spawnOptions.gid = options.gid;
  const child = spawn(process.execPath, [BIN, ...args], spawnOptions);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    child.emit('output');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    child.emit('output');
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    async waitFor(re) {
      for (let i = 0; i < 100_000; i++) {
        const m = `${out}\n${err}`.match(re);
        if (m !== null) return m;
        const r = await Promise.race([once(child, 'output').then(() => 'output'), exit.then(() => 'exit')]);
        if (r === 'exit') {
          const last = `${out}\n${err}`.match(re);
          if (last !== null) return last;
          throw new Error(`tunnel exited before its output matched ${re}\nstdout: ${out}\nstderr: ${err}`);
        }
      }
      throw new Error('unreachable');
    },
  };
}

/** Run to completion. */
export async function tunnelRun(
  t: Teardown,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; uid?: number; gid?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = tunnelProc(t, args, options);
  const { code } = await p.exit;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
