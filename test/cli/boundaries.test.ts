/** The CLI/config edge rules: only the listed files touch fs, only cli/process-io.ts reads process. */
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const code = (f: string): string => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
const files = [...walk(join(root, 'src', 'config')), ...walk(join(root, 'src', 'cli'))];

/** The files of config/ and cli/ that read or write files, and what for; nothing else may. */
const FS_ALLOWED: Record<string, string> = {
  [join('src', 'config', 'load.ts')]: 'the config files',
  [join('src', 'cli', 'doctor', 'local.ts')]: '/proc: which process holds a local port',
  [join('src', 'cli', 'doctor', 'runtime.ts')]: 'the CA bundles the environment names',
  [join('src', 'cli', 'hosts-file.ts')]: 'the hosts file (`tunnel hosts --write`)',
};

t.test('only the listed files of config/ and cli/ import the file system', async (t) => {
  for (const f of files) {
    const rel = relative(root, f);
    if (FS_ALLOWED[rel] !== undefined) continue;
    t.notMatch(code(f), /from ['"](node:)?fs(\/promises)?['"]/, `${rel} does not import fs`);
  }
});

t.test('only src/cli/process-io.ts (and bin/) use the process object', async (t) => {
  for (const f of files) {
    const rel = relative(root, f);
    if (rel === join('src', 'cli', 'process-io.ts')) continue;
    t.notMatch(
      code(f),
      /\bprocess\.(env|argv|exit|on|cwd|stdout|stderr|stdin|exitCode)\b/,
      `${rel} does not touch process`,
    );
  }
});

t.test('config/ imports only tunnel types and errors from the project', async (t) => {
  for (const f of walk(join(root, 'src', 'config'))) {
    for (const m of code(f).matchAll(/from ['"](\.\.\/[^'"]+)['"]/g)) {
      t.match(m[1], /^\.\.\/(tunnel\/forward-spec|errors|files)\.js$/, `${relative(root, f)} imports ${m[1]}`);
    }
  }
});
