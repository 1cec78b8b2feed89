/** The package's entry points, imported by name as a user would (self-reference through "exports"). */
import t from 'tap';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string };

t.test('the root export is the library, without the emulator', async (t) => {
  const lib = (await import(pkg.name)) as Record<string, unknown>;
  t.type(lib['openForward'], 'function');
  t.type(lib['TunnelManager'], 'function');
  t.equal(lib['startEmulator'], undefined, 'the emulator is not part of the root export');
});

t.test('<package>/emulator exports the emulator', async (t) => {
  const emu = (await import(`${pkg.name}/emulator`)) as Record<string, unknown>;
  t.type(emu['startEmulator'], 'function');
});

t.test('the package build compiles the package only: src and bin, nothing that imports test or bench', async (t) => {
  const build = JSON.parse(readFileSync(new URL('../../tsconfig.build.json', import.meta.url), 'utf8')) as {
    include: string[];
  };
  t.same(build.include, ['src', 'bin'], 'bench builds with tsconfig.bench.json (npm run build:bench)');
  const { readdirSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => {
      const p = join(d, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  const root = join(import.meta.dirname, '..', '..');
  for (const f of [...walk(join(root, 'src')), ...walk(join(root, 'bin'))]) {
    t.notMatch(readFileSync(f, 'utf8'), /from\s+['"](\.\.\/)+(test|bench)\//, `${f} imports no test or bench code`);
  }
});
