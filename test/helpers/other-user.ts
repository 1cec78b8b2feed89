/**
 * Tests that run the CLI as another user (uid/gid 65534, `nobody`) need root, and need that user
 * to reach node and the checkout: a clone under a 0700 directory (`mktemp -d`) or a home that is
 * not world-searchable stops `nobody` before our code runs. Such a test is skipped with the
 * reason instead of failing on a module it could not load.
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';

export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** Why the tests cannot run `paths` as nobody here, or false when they can. */
export function otherUserSkip(...paths: string[]): string | false {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    return 'needs root to run a client as another uid';
  const script = `for (const p of process.argv.slice(1)) require('node:fs').accessSync(p, ${constants.R_OK});`;
  // A bare environment: the test runner's loader options would fail first, for the same reason.
  const r = spawnSync(process.execPath, ['-e', script, ...paths], {
    ...NOBODY,
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: 'pipe',
    timeout: 30_000,
  });
  if (r.status === 0) return false;
  const text = r.error?.message ?? r.stderr.toString();
  const why = /\b(E[A-Z]{3,})\b[^\n]*/.exec(text)?.[0] ?? 'no access';
  return `uid 65534 cannot reach node or the checkout here (${why.trim().slice(0, 160)}); make the path to it world-searchable`;
}
