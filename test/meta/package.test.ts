/**
 * The package as users get it (issue 12): the npm name `ssm-tunnel` with both command names, no
 * install-time scripts, the license, examples and docs inside, Node 22 in engines, a README quick
 * start of two commands that builds once, and the test report CI counts from.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(new URL(p, new URL('../../', import.meta.url)), 'utf8');

interface Pkg {
  name: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  engines: { node: string };
  license: string;
}
const pkg = JSON.parse(read('package.json')) as Pkg;

t.test('npm name ssm-tunnel; bins tunnel and ssm-tunnel; no install-time scripts', async (t) => {
  t.equal(pkg.name, 'ssm-tunnel');
  t.same(pkg.bin, { tunnel: 'dist/bin/tunnel.js', 'ssm-tunnel': 'dist/bin/tunnel.js' });
  for (const s of ['preinstall', 'install', 'postinstall', 'prepare'])
    t.notOk(s in pkg.scripts, `no "${s}" script (npm warns about install scripts; a clone would rebuild)`);
  t.match(pkg.scripts['prepack'], /build/, 'the tarball is built by `npm pack` / `npm publish`');
  t.match(pkg.engines.node, /\b22\b/, 'Node 22 in engines');
  t.match(pkg.engines.node, /20\.19/, '20.19 still allowed');
});

t.test('LICENSE, examples, README and docs are in the package', async (t) => {
  for (const f of ['LICENSE', 'examples', 'docs', 'README.md', 'dist/bin', 'dist/src'])
    t.ok(pkg.files.includes(f), `${f} in files`);
  t.equal(pkg.license, 'Apache-2.0');
  const license = read('LICENSE');
  t.match(license, /Apache License\s+Version 2\.0, January 2004/);
  t.match(license, /END OF TERMS AND CONDITIONS/);
  t.ok(license.length > 10_000, 'the full text');
  for (const f of pkg.files) t.ok(existsSync(`${root}${f}`), `${f} exists`);
});

t.test('README: quick start is two commands, builds once, no `npx tunnel`', async (t) => {
  const readme = read('README.md');
  const quick = readme.slice(
    readme.indexOf('## Quick start'),
    readme.indexOf('\n## ', readme.indexOf('## Quick start') + 5),
  );
  const block = /```sh\n([\s\S]*?)```/.exec(quick)?.[1] ?? '';
  const commands = block.split('\n').filter((l) => l.trim() !== '');
  t.equal(commands.length, 2, 'two commands');
  t.match(commands[0], /^npm ci && npm run demo\b/);
  t.match(commands[1], /^npm test\b/);
  t.match(pkg.scripts['demo'], /^npm run build && node dist\/bin\/tunnel\.js demo$/);
  t.match(pkg.scripts['build'], /scripts\/build\.mjs/, 'a build that skips when dist/ is fresh');
  t.match(pkg.scripts['test'], /^npm run build && /);
  t.match(readme, /npm link/, 'how to put tunnel on PATH from a clone');
  for (const f of ['README.md', 'docs/cli.md', 'docs/config.md']) {
    for (const line of read(f).split('\n'))
      t.notMatch(line, /^\s*npx tunnel\b/, `${f}: no command line runs the unrelated npm package "tunnel"`);
  }
  t.match(readme, /npx ssm-tunnel demo/);
});

const SAMPLE_TAP = `TAP version 14
# Subtest: test/a.test.ts
    # Subtest: group
        ok 1 - should be equal
        not ok 2 - one is two
          ---
          compare: ===
          at:
            fileName: test/a.test.ts
            lineNumber: 2
          ...
        ok 3 - skipped one # SKIP not here
        1..3
    not ok 1 - group # time=1ms
    1..1
not ok 1 - test/a.test.ts # time=10ms
# Subtest: test/b.test.ts
    ok 1 - fine
    ok 2 - also fine
    not ok 3 - later # TODO
    1..3
ok 2 - test/b.test.ts # time=5ms
# Subtest: test/c.test.ts
    1..0
not ok 3 - test/c.test.ts # time=5ms
  ---
  exitCode: 1
  ...
1..3
`;

t.test('the piped test report: failures in full, and counts CI can trust', async (t) => {
  const script = "import R from './scripts/tap-summary.mjs'; process.stdin.pipe(new R()).pipe(process.stdout);";
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: root }, (err, stdout) =>
      err === null ? resolve(stdout) : reject(err),
    );
    child.stdin?.end(SAMPLE_TAP);
  });
  t.match(out, /^FAIL test\/a\.test\.ts > group > one is two\n {4}compare: ===\n {4}at: test\/a\.test\.ts:2$/m);
  t.match(out, /^FAIL test\/c\.test\.ts$/m, 'a file that failed with no failing assertion still counts');
  t.notMatch(out, /FAIL test\/a\.test\.ts > group\n/, 'a subtest is not counted again for its failed assertion');
  t.match(out, /^failed files: test\/a\.test\.ts, test\/c\.test\.ts$/m);
  t.match(out, /^tests: 3 passed, 2 failed, 1 skipped, 1 todo \(3 files, \d+ s\)$/m);
  t.ok(out.split('\n').length < 12, 'short');
  // .ci/run reads exactly that line.
  const ci = read('.ci/run');
  t.match(ci, /grep -E '\^tests: \[0-9\]\+ passed, \[0-9\]\+ failed'/);
  t.match(ci, /npm pack/);
  t.match(ci, /bin\/ssm-tunnel" --version/);
  t.match(ci, /bin\/tunnel" demo --once/);
});
