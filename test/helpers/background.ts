/**
 * Background-mode tests: run the built CLI (`dist/bin/tunnel.js`) as a subprocess with its own
 * HOME and a short private XDG_RUNTIME_DIR, and make sure every background process it starts
 * is killed in teardown, whatever happened.
 */
import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../../src/emulator/index.js';
import { cliProcessEnv } from './emulator.js';

export const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  home: string;
  project: string;
  runtime: string;
  /** The tunnel runtime directory (socket, pid file, log). */
  dir: string;
  env: NodeJS.ProcessEnv;
  run(args: string[], options?: { cwd?: string; extra?: SpawnOptions }): Promise<Result>;
  writeConfig(yaml: string): void;
  /** The pid in the pid file, if there is one. */
  pid(): number | undefined;
  /** Every live `tunnel daemon` process whose environment has this sandbox's runtime dir. */
  daemons(): number[];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Wait until `pid` is gone. It is not our child (the background process is detached), so
 * there is no exit event to wait on: poll, bounded.
 */
export async function waitDead(pid: number): Promise<boolean> {
  for (let i = 0; i < 2000; i++) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

export function sandbox(t: Teardown, emu: Emulator, extraEnv: Record<string, string> = {}): Sandbox {
  // Short: a Unix socket path must stay under ~104 bytes.
  const root = mkdtempSync(join(tmpdir(), 'tnbg-'));
  const home = join(root, 'home');
  const project = join(root, 'proj');
  const runtime = join(root, 'run');
  for (const d of [home, project, runtime]) mkdirSync(d, { mode: 0o700 });
  const dir = join(runtime, 'tunnel');
  const env = { ...cliProcessEnv(emu, home), XDG_RUNTIME_DIR: runtime, ...extraEnv };
  const seen = new Set<number>();
  const sb: Sandbox = {
    home,
    project,
    runtime,
    dir,
    env,
    run(args, options = {}) {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          cwd: options.cwd ?? project,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          ...(options.extra ?? {}),
        });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('close', (code, signal) => {
          const p = sb.pid();
          if (p !== undefined) seen.add(p);
          resolve({ code, signal, stdout, stderr });
        });
      });
    },
    writeConfig(yaml) {
      writeFileSync(join(project, '.tunnel.yaml'), yaml);
    },
    pid() {
      try {
        const n = Number(readFileSync(join(dir, 'tunnel.pid'), 'utf8').trim());
        return Number.isInteger(n) && n > 0 ? n : undefined;
      } catch {
        return undefined;
      }
    },
    daemons() {
      const out: number[] = [];
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
          if (!cmd.includes('daemon') || !cmd.some((c) => c.endsWith('tunnel.js'))) continue;
          const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
          if (environ.includes(`XDG_RUNTIME_DIR=${runtime}`) && isAlive(Number(name))) out.push(Number(name));
        } catch {
          // Exited meanwhile.
        }
      }
      return out;
    },
  };
  t.teardown(async () => {
    const pids = new Set([...seen, ...sb.daemons()]);
    const p = sb.pid();
    if (p !== undefined) pids.add(p);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    for (const pid of pids) await waitDead(pid);
    rmSync(root, { recursive: true, force: true });
  });
  return sb;
}
