/**
 * Helpers for the sign-in tests (issue #15): the built CLI as a subprocess with a temporary HOME
 * holding an AWS config the test wrote, pointed at an emulator's sign-in endpoints through the
 * standard overrides; and waits on the emulator's recorded API calls (no sleeps).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Emulator } from '../../src/emulator/index.js';
import type { ApiCall } from '../../src/emulator/state.js';
import { tunnelProc, type Teardown, type TunnelProc } from './tunnel-proc.js';

export { BIN } from './tunnel-proc.js';

/** The CLI with stdin open; `wait` matches stdout and stderr interleaved as received. */
export type Proc = TunnelProc & { wait(re: RegExp): Promise<RegExpMatchArray> };

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
): Proc {
  const p = tunnelProc(t, args, { ...options, stdin: true });
  return { ...p, wait: (re) => p.until(() => p.all().match(re) ?? undefined) };
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
