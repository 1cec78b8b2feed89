#!/usr/bin/env node
// `npm run build`: compile with tsc only when a source is newer than the last build, so the
// quick start (`npm ci && npm run demo`, then `npm test`) compiles once. `--force` always compiles.
// tsc itself is incremental (tsconfig.build.json), so a stale build recompiles only what changed.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Written only here, after a successful compile (a `tsc --noEmit` run touches tsc's own build info).
const stamp = join(root, 'dist', '.build-stamp');

/** Newest modification time of a .ts file under `dir`, 0 when there is none. */
function newest(dir) {
  let max = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, newest(p));
    else if (e.isFile() && e.name.endsWith('.ts')) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

const built = mtime(stamp);
const sources = Math.max(
  newest(join(root, 'src')),
  newest(join(root, 'bin')),
  mtime(join(root, 'tsconfig.json')),
  mtime(join(root, 'tsconfig.build.json')),
  mtime(join(root, 'package-lock.json')),
);
const fresh = built > 0 && built >= sources && mtime(join(root, 'dist', 'bin', 'tunnel.js')) > 0;
if (fresh && !process.argv.includes('--force')) {
  console.log('dist/ is up to date (npm run build -- --force to compile anyway)');
  process.exit(0);
}
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status === 0) writeFileSync(stamp, `${new Date().toISOString()}\n`);
process.exit(r.status ?? 1);
