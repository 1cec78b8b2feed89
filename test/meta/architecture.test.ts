import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Imports flow one way: pure codecs at the bottom, adapters at the edge.
// Each layer lists the layers it may import from (besides itself).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  clock: [],
  random: [],
  loopback: [],
  protocol: ['errors'],
  session: ['protocol', 'errors', 'clock', 'random', 'loopback'],
  mux: ['protocol', 'errors', 'clock', 'random'],
  aws: ['errors', 'loopback'],
  tunnel: ['protocol', 'session', 'mux', 'aws', 'errors', 'clock', 'random', 'loopback'],
  config: ['tunnel', 'errors', 'loopback'],
  emulator: ['protocol', 'session', 'mux', 'errors', 'clock', 'random', 'loopback'],
  cli: ['protocol', 'session', 'mux', 'aws', 'tunnel', 'config', 'emulator', 'errors', 'clock', 'random', 'loopback'],
  index: ['protocol', 'session', 'mux', 'aws', 'tunnel', 'config', 'errors', 'clock', 'random', 'loopback'],
};

function layerOf(file: string): string {
  const rel = relative(src, file).split(sep);
  const first = rel[0] ?? '';
  return rel.length === 1 ? first.replace(/\.ts$/, '') : first;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2]) as string);
  return out;
}

const files = walk(src);

t.test('every source file belongs to a known layer', async (t) => {
  for (const f of files) t.ok(layerOf(f) in ALLOWED, `${relative(root, f)} is in a known layer`);
});

t.test('imports flow one way between layers', async (t) => {
  const violations: string[] = [];
  for (const f of files) {
    const from = layerOf(f);
    const allowed = ALLOWED[from] ?? [];
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec);
      if (!target.startsWith(src)) {
        violations.push(`${relative(root, f)} imports outside src: ${spec}`);
        continue;
      }
      const to = layerOf(target.replace(/\.js$/, '.ts'));
      if (to !== from && !allowed.includes(to))
        violations.push(`${relative(root, f)} (${from}) imports ${spec} (${to})`);
    }
  }
  t.same(violations, []);
});

/** Imports that load a module at run time: static, not type-only (dynamic `import()` excluded). */
const STATIC_RE =
  /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;
function staticImportsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(STATIC_RE)].map((m) => (m[1] ?? m[2]) as string).filter((s) => s.startsWith('.'));
}
const DYNAMIC_RE = /import\(\s*['"]([^'"]+)['"]\s*\)/g;

t.test('importing the library (src/index.ts) loads no emulator module', async (t) => {
  const seen = new Set<string>();
  const todo = [join(src, 'index.ts')];
  while (todo.length > 0) {
    const f = todo.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const spec of staticImportsOf(f)) todo.push(resolve(dirname(f), spec).replace(/\.js$/, '.ts'));
  }
  const emulator = [...seen].filter((f) => layerOf(f) === 'emulator').map((f) => relative(root, f));
  t.same(emulator, [], 'the emulator is the subpath export <package>/emulator');
  t.ok(seen.size > 10, `the walk followed the library's imports (${seen.size} files)`);
});

t.test('the CLI reaches the emulator only through dynamic imports in its command modules', async (t) => {
  const violations: string[] = [];
  for (const f of files.filter((f) => layerOf(f) === 'cli')) {
    for (const spec of staticImportsOf(f)) {
      if (layerOf(resolve(dirname(f), spec).replace(/\.js$/, '.ts')) === 'emulator')
        violations.push(`${relative(root, f)} statically imports ${spec}`);
    }
    const inCommands = relative(src, f).startsWith(join('cli', 'commands') + sep);
    for (const m of readFileSync(f, 'utf8').matchAll(DYNAMIC_RE)) {
      const spec = m[1] as string;
      if (
        spec.startsWith('.') &&
        layerOf(resolve(dirname(f), spec).replace(/\.js$/, '.ts')) === 'emulator' &&
        !inCommands
      )
        violations.push(`${relative(root, f)} imports ${spec} outside src/cli/commands/`);
    }
  }
  t.same(violations, []);
});

t.test('protocol/ does no I/O and uses no timers', async (t) => {
  const banned = /\b(setTimeout|setInterval|setImmediate|process\.|Date\.now)\b/;
  for (const f of files.filter((f) => layerOf(f) === 'protocol')) {
    for (const spec of importsOf(f)) {
      t.notOk(
        /^(node:)?(net|fs|tls|http|https|dgram|events|timers|child_process)$|^ws$/.test(spec),
        `${relative(root, f)} must not import ${spec}`,
      );
    }
    const text = readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
    t.notOk(banned.test(text), `${relative(root, f)} uses no timers, clock or process`);
  }
});

t.test('only the ws adapters import ws', async (t) => {
  for (const f of files) {
    if (!importsOf(f).includes('ws')) continue;
    const rel = relative(src, f);
    t.ok(rel === join('session', 'ws-transport.ts') || rel.startsWith(`emulator${sep}`), `${rel} may import ws`);
  }
});

t.test('only src/aws/ imports the AWS SDK', async (t) => {
  for (const f of files) {
    const sdk = importsOf(f).filter((spec) => spec.startsWith('@aws-sdk/'));
    if (sdk.length > 0) t.equal(layerOf(f), 'aws', `${relative(root, f)} imports ${sdk.join(', ')}`);
  }
});

t.test('no file in src/ is much over 600 lines', async (t) => {
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').split('\n').length;
    t.ok(lines <= 700, `${relative(root, f)} has ${lines} lines`);
  }
});

t.test('no `any` in src/', async (t) => {
  for (const f of files) {
    const text = readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
    t.notOk(/(:\s*any\b|as\s+any\b|<any>)/.test(text), `${relative(root, f)} has no any`);
  }
});
