/**
 * `tunnel doctor` as a subprocess of the built CLI (`dist/bin/tunnel.js`) against an emulator in
 * this test process, and a parser for its text lines.
 */
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import type { EmulatorOptions } from '../../src/emulator/options.js';
import { cliProcessEnv } from '../helpers/emulator.js';

export const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));
export const SECRET_MARK = 'SECRETMARKERdoctorxyzzy0123456789abcdefg';
export const INSTANCE = 'i-0123456789abcdef0';

export async function emulator(t: Test, options: EmulatorOptions = {}): Promise<Emulator> {
  const emu = await startEmulator({
    credentials: { accessKeyId: 'AKIADOCTORTEST000001', secretAccessKey: SECRET_MARK },
    pacing: 'none',
    ...options,
  });
  t.teardown(() => emu.close());
  return emu;
}

export interface DoctorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `tunnel doctor ARGS` to completion (the doctor bounds every check with a timeout). */
export function doctor(
  t: Test,
  emu: Emulator,
  args: string[],
  options: { home?: string; env?: Record<string, string>; drop?: string[] } = {},
): Promise<DoctorRun> {
  const home = options.home ?? t.testdir({});
  const env: NodeJS.ProcessEnv = {
    ...cliProcessEnv(emu, home, options.env ?? {}),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const k of options.drop ?? []) delete env[k];
  const child = spawn(process.execPath, [BIN, 'doctor', '--no-user-config', ...args], {
    cwd: home,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

export interface Line {
  status: 'PASS' | 'WARN' | 'FAIL' | 'SKIP';
  finding: string;
  fix: string | undefined;
}

/** The text line of check `name` (`runtime`, `db/target`, …) and its `fix:` line. */
export function line(out: string, name: string): Line {
  const lines = out.split('\n');
  const prefix = new RegExp(`^(PASS|WARN|FAIL|SKIP)  ${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: (.*)$`);
  for (let i = 0; i < lines.length; i++) {
    const m = prefix.exec(lines[i] ?? '');
    if (m === null) continue;
    const next = /^ {6}fix: (.*)$/.exec(lines[i + 1] ?? '');
    return { status: m[1] as Line['status'], finding: m[2] ?? '', fix: next?.[1] };
  }
  throw new Error(`no line for ${name} in:\n${out}`);
}
