/**
 * Helpers for the sign-in tests (issue #15): the built CLI as a subprocess with a temporary HOME
 * holding an AWS config the test wrote, pointed at an emulator's sign-in endpoints through the
 * standard overrides; and waits on the emulator's recorded API calls (no sleeps).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../../src/emulator/index.js';
import type { ApiCall } from '../../src/emulator/state.js';

export const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** stdout + stderr as received. */
  all: () => string;
  /** Wait until stdout or stderr matches (rejects if the process exits first). */
  wait(re: RegExp): Promise<RegExpMatchArray>;
  /** Wait until `pred` holds, re-checked on every output chunk (rejects if the process exits first). */
  until<T>(pred: () => T | undefined): Promise<T>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A temporary HOME with `~/.aws/config` holding `config`. */
export function tempHome(t: Teardown, config: string): string {
  const home = mkdtempSync(join(tmpdir(), 'tunnel-i15-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, '.aws'), { recursive: true });
  writeFileSync(join(home, '.aws', 'config'), config);
  return home;
}

/** Environment with the emulator's endpoints for SSM, SSO OIDC, the portal and STS; no keys. */
export function identityEnv(emu: Emulator, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SSM: emu.endpoint,
    AWS_ENDPOINT_URL_SSO_OIDC: emu.endpoint,
    AWS_ENDPOINT_URL_SSO: emu.endpoint,
    AWS_ENDPOINT_URL_STS: emu.endpoint,
    ...extra,
  };
}

/**
 * Run the CLI. `tty: true` runs it under `script` so stdin/stdout are a terminal (the MFA prompt
 * needs one); then `write` types into it.
 */
export function runTunnel(
  t: Teardown,
  args: string[],
  options: { env: Record<string, string>; cwd: string; tty?: boolean },
): Proc & { write(s: string): void } {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child =
    options.tty === true
      ? spawn('script', ['-qefc', cmd, '/dev/null'], {
          cwd: options.cwd,
          env: options.env,
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : spawn(process.execPath, [BIN, ...args], {
          cwd: options.cwd,
          env: options.env,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
  let out = '';
  let err = '';
  let all = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    all += d.toString();
    child.emit('out');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    all += d.toString();
    child.emit('out');
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
    all: () => all,
    exit,
    write(s: string) {
      child.stdin?.write(s);
    },
    async until<T>(pred: () => T | undefined): Promise<T> {
      for (let i = 0; i < 100_000; i++) {
        const v = pred();
        if (v !== undefined) return v;
        const r = await Promise.race([once(child, 'out').then(() => 'out'), exit.then(() => 'exit')]);
        if (r === 'exit') {
          const last = pred();
          if (last !== undefined) return last;
          throw new Error(`tunnel exited before the awaited output\nstdout: ${out}\nstderr: ${err}`);
        }
      }
      throw new Error('unreachable');
    },
    async wait(re) {
      for (let i = 0; i < 100_000; i++) {
        const m = all.match(re);
        if (m !== null) return m;
        const r = await Promise.race([once(child, 'out').then(() => 'out'), exit.then(() => 'exit')]);
        if (r === 'exit') {
          const last = all.match(re);
          if (last !== null) return last;
          throw new Error(`tunnel exited before its output matched ${re}\nstdout: ${out}\nstderr: ${err}`);
        }
      }
      throw new Error('unreachable');
    },
  };
}

/** Resolve with the first recorded call (past or future) that `match` accepts. */
export function waitForCall(emu: Emulator, match: (c: ApiCall) => boolean): Promise<ApiCall> {
  const past = emu.state.calls.find(match);
  if (past !== undefined) return Promise.resolve(past);
  return new Promise((resolve) => {
    const on = (c: ApiCall): void => {
      if (match(c)) {
        emu.state.off('api-call', on);
        resolve(c);
      }
    };
    emu.state.on('api-call', on);
  });
}

export function calls(emu: Emulator, operation: string): ApiCall[] {
  return emu.state.calls.filter((c) => c.operation === operation);
}
