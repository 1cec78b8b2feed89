#!/usr/bin/env node
// `npm test`'s runner (after build, typecheck, format:check and lint): tap, with a report that
// suits where it goes. On a terminal, tap's own live reporter; through a pipe (CI, `| less`), a short
// report (scripts/tap-summary.mjs): the failures in full and one closing count line.
// Extra arguments go to tap: `npm test -- test/cli`, `npm test -- -R tap` for raw TAP.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const chosen = args.some((a) => a === '-R' || a.startsWith('-R') || a.startsWith('--reporter'));
const reporter = chosen ? [] : ['--reporter', process.stdout.isTTY ? 'base' : './scripts/tap-summary.mjs'];
const tap = join(root, 'node_modules', '.bin', 'tap');
const child = spawn(tap, [...reporter, ...args], {
  cwd: root,
  stdio: 'inherit',
  // On Node 20 every test process that loads the AWS SDK would warn that the SDK needs Node 22
  // after January 2027 (the CLI silences it for itself; tests load the SDK directly).
  env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
child.on('close', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + 2)));
