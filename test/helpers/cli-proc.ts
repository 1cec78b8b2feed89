/**
 * The built CLI (`dist/bin/tunnel.js`, built by `npm run build` before tap) as a subprocess, with
 * a clean environment: no ambient AWS settings, no user config (HOME is the test dir). The
 * subprocess itself is tunnel-proc.ts's.
 */
import type { Test } from 'tap';
import { tunnelProc, type TunnelProc } from './tunnel-proc.js';

export { BIN } from './tunnel-proc.js';
export type Proc = TunnelProc;

export function tunnel(t: Test, args: string[], options: { env?: Record<string, string>; cwd: string }): Proc {
  return tunnelProc(t, args, {
    cwd: options.cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: options.cwd,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...(options.env ?? {}),
    },
  });
}
