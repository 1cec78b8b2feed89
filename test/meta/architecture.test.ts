import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

// Imports flow one way: pure codecs at the bottom, adapters at the edge.
// Each layer lists the layers it may import from (besides itself).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  clock: [],
  random: [],
  loopback: [],
  files: [],
  protocol: ['errors'],
  session: ['protocol', 'errors', 'clock', 'random', 'loopback'],
  mux: ['protocol', 'errors', 'clock', 'random'],
  aws: ['protocol', 'errors', 'loopback'],
  tunnel: ['protocol', 'session', 'mux', 'aws', 'errors', 'clock', 'random', 'loopback'],
  config: ['tunnel', 'errors', 'loopback', 'files'],
  emulator: ['protocol', 'session', 'mux', 'errors', 'clock', 'random', 'loopback', 'files'],
  // The background process and its control socket: the engine, without the CLI above it.
  daemon: ['tunnel', 'aws', 'errors', 'clock', 'random', 'loopback', 'files'],
  cli: [
    'protocol',
    'session',
    'mux',
    'aws',
    'tunnel',
    'config',
    'emulator',
    'daemon',
    'errors',
    'clock',
    'random',
    'loopback',
    'files',
  ],
  index: ['protocol', 'session', 'mux', 'aws', 'tunnel', 'config', 'errors', 'clock', 'random', 'loopback', 'files'],
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

// ---------------------------------------------------------------------------------------------
// What counts as loopback is decided in one module, src/loopback.ts.

/** Code text with comments removed (string contents kept: the checks below look inside them). */
function codeOf(file: string): string {
  return readFileSync(file, 'utf8').replace(/^\s*\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
}

/**
 * Signs of a second loopback rule: a regular expression over 127.x addresses, a
 * `startsWith('127.')` test, or a declaration of its own `isLoopback…`/`…LOOPBACK_RE`. (Plain
 * literals such as the default bind `'127.0.0.1'` are addresses, not rules, and stay allowed.)
 */
const LOOPBACK_RULE_RE =
  /127\\\.|startsWith\(\s*['"]127\.|(?:function|const|let)\s+(?:isLoopback\w*|\w*LOOPBACK_RE\b)|::1\|/;

t.test('src/loopback.ts is the only module that decides what counts as loopback', async (t) => {
  const owners = files.filter((f) => LOOPBACK_RULE_RE.test(codeOf(f))).map((f) => relative(root, f));
  t.same(owners, [join('src', 'loopback.ts')], 'every other layer imports isLoopbackIp/isLoopbackName');
});

// ---------------------------------------------------------------------------------------------
// The package entry points: the CLI binary, like the library, starts without the emulator.

/** Every file `entry` loads at start-up: static, non-type imports, followed transitively. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const f = todo.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const spec of staticImportsOf(f)) todo.push(resolve(dirname(f), spec).replace(/\.js$/, '.ts'));
  }
  return seen;
}

t.test('starting the CLI (bin/tunnel.ts) loads no emulator module', async (t) => {
  const seen = staticClosure(join(root, 'bin', 'tunnel.ts'));
  const emulator = [...seen].filter((f) => f.startsWith(src + sep) && layerOf(f) === 'emulator');
  t.same(
    emulator.map((f) => relative(root, f)),
    [],
    'commands that need it import it dynamically',
  );
  t.ok(seen.size > 10, `the walk followed the CLI's imports (${seen.size} files)`);
});

t.test('package.json exports the library at the root and the emulator only at ./emulator', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { types: string; import: string }>;
  };
  t.same(Object.keys(pkg.exports).sort(), ['.', './emulator', './package.json']);
  t.same(pkg.exports['.'], { types: './dist/src/index.d.ts', import: './dist/src/index.js' });
  t.same(pkg.exports['./emulator'], {
    types: './dist/src/emulator/index.d.ts',
    import: './dist/src/emulator/index.js',
  });
});

// ---------------------------------------------------------------------------------------------
// `npm run build` compiles src and bin only: nothing from test/ or bench/ reaches dist/.

t.test('the package build (tsconfig.build.json) compiles only src/ and bin/', async (t) => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--listFilesOnly'], {
    encoding: 'utf8',
  });
  t.equal(r.status, 0, r.stderr);
  const ours = r.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.includes(`${sep}node_modules${sep}`) && !l.includes('/node_modules/'))
    .map((l) => relative(root, l));
  const outside = ours.filter((f) => !f.startsWith(`src${sep}`) && !f.startsWith(`bin${sep}`));
  t.same(outside, [], 'a file outside src/ and bin/ would be emitted as dist/<dir>/…');
  t.ok(ours.length > 50, `tsc listed the build's own files (${ours.length})`);
});

// ---------------------------------------------------------------------------------------------
// Test support code lives in test/helpers/. A few files stay next to what they serve; each is
// listed here with its reason and the only places allowed to import it.

interface Resident {
  /** A file, or a directory (ending in `/`) whose .ts files all stay. */
  path: string;
  reason: string;
  /** Path prefixes of the files allowed to import it. */
  usedBy: readonly string[];
}

const RESIDENTS: readonly Resident[] = [
  {
    path: 'test/protocol/ssm/load-vectors.ts',
    reason: 'loader for the golden vectors in its own vectors/ directory',
    usedBy: ['test/protocol/ssm/'],
  },
  {
    path: 'test/protocol/smux/smux-vectors.ts',
    reason: 'loader for the smux golden vectors in its own vectors/ directory',
    usedBy: ['test/protocol/smux/', 'test/mux/'],
  },
  {
    path: 'test/fuzz/targets/',
    reason: 'the fuzz targets: what the fuzzer runs (test/fuzz and npm run fuzz), not support code',
    usedBy: ['test/fuzz/', 'bench/fuzz.ts'],
  },
  {
    path: 'test/reliability/scenarios.ts',
    reason: "the fault scenarios of issue #8: the reliability tests' content, shared with the soak bench",
    usedBy: ['test/reliability/', 'bench/soak.ts'],
  },
  {
    path: 'test/tunnel/fakes.ts',
    reason: "fakes of the engine's ports, for the engine's unit tests only",
    usedBy: ['test/tunnel/'],
  },
  {
    path: 'test/emulator/fixtures/run-and-close.ts',
    reason: 'a child-process program (emulator.test.ts runs it), not a module',
    usedBy: [],
  },
  {
    path: 'test/cli/capture-io.ts',
    reason: 'the in-process CliIo for main() tests of the CLI',
    usedBy: ['test/cli/'],
  },
  {
    path: 'test/cli/doctor-helpers.ts',
    reason: '`tunnel doctor` as a subprocess, for the doctor tests',
    usedBy: ['test/cli/doctor'],
  },
  {
    path: 'test/bad-inputs/cli-cases.ts',
    reason: 'the CLI rows of docs/bad-inputs.md: test data',
    usedBy: ['test/bad-inputs/'],
  },
  {
    path: 'test/bad-inputs/cli-cases-hostile.ts',
    reason: 'more CLI rows of docs/bad-inputs.md (issue 16): test data',
    usedBy: ['test/bad-inputs/'],
  },
];

const testDir = join(root, 'test');
const toPosix = (p: string): string => p.split(sep).join('/');
const residentOf = (rel: string): Resident | undefined =>
  RESIDENTS.find((r) => (r.path.endsWith('/') ? rel.startsWith(r.path) : rel === r.path));

t.test('test support code lives in test/helpers/, apart from the listed residents', async (t) => {
  const support = walk(testDir)
    .map((f) => toPosix(relative(root, f)))
    .filter((f) => !f.endsWith('.test.ts') && !f.startsWith('test/helpers/'));
  t.same(
    support.filter((f) => residentOf(f) === undefined),
    [],
    'move it to test/helpers/, or add it to RESIDENTS with its reason',
  );
  for (const r of RESIDENTS)
    t.ok(
      support.some((f) => residentOf(f) === r),
      `${r.path} still exists (${r.reason})`,
    );
});

t.test('a resident is imported only from the places it serves', async (t) => {
  const violations: string[] = [];
  for (const f of [...walk(testDir), ...walk(join(root, 'bench'))]) {
    const from = toPosix(relative(root, f));
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const to = toPosix(relative(root, resolve(dirname(f), spec).replace(/\.js$/, '.ts')));
      const r = residentOf(to);
      if (r === undefined || residentOf(from) === r || r.usedBy.some((p) => from.startsWith(p))) continue;
      violations.push(`${from} imports ${to}: shared code belongs in test/helpers/`);
    }
  }
  t.same(violations, []);
});
