/**
 * Rows of docs/bad-inputs.md checked in process (no CLI run needed): own-key lookups, linear
 * group expansion, problems in reading order, the same local-port rules in config and SPEC,
 * zone ids and IPv6 display, masked excerpts.
 */
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import type { ConfigIssue } from '../../src/errors.js';
import { parseConfigText } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { expandName, parseSpecText, selectForwards, specsFromWords } from '../../src/config/resolve.js';
import { maskedExcerpt, shortText } from '../../src/config/text.js';
import { hostForDisplay } from '../../src/tunnel/forward.js';

function load(lines: string[]) {
  const text = lines.join('\n');
  const src = parseConfigText(text, 'p.yaml');
  return validateConfig(src.value, src);
}
function issuesOf(lines: string[]): readonly ConfigIssue[] {
  try {
    load(lines);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

t.test('forward-named-constructor: a forward may be called constructor; __proto__ tags stay tags', async (t) => {
  const config = load([
    'forwards:',
    '  constructor: { target: "tag:__proto__=x", remotePort: 5432 }',
    '  toString: { target: { tags: { __proto__: y } }, remotePort: 6379 }',
    'groups:',
    '  hasOwnProperty: [constructor, toString]',
  ]);
  const specs = selectForwards(config, ['hasOwnProperty']);
  t.same(
    specs.map((s) => s.name),
    ['constructor', 'toString'],
  );
  for (const [i, v] of [
    [0, 'x'],
    [1, 'y'],
  ] as const) {
    const tags = (specs[i]?.target as { tags: Record<string, string> }).tags;
    t.ok(Object.hasOwn(tags, '__proto__'), `${i}: an own tag key`);
    t.equal(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value, v);
  }
  t.throws(() => specsFromWords(config, ['valueOf']), { code: 'ERR_CONFIG_UNKNOWN_FORWARD' });
});

t.test('group-expansion-linear: a 2^200-path group graph expands once, without duplicates', async (t) => {
  const lines = ['forwards:', '  db: { target: i-0123456789abcdef0, remotePort: 5432 }', 'groups:'];
  for (let i = 0; i < 200; i++) lines.push(`  g${i}: [g${i + 1}, g${i + 1}, db]`);
  lines.push('  g200: [db]');
  t.same(expandName(load(lines), 'g0'), ['db']);
  const cyc = issuesOf([
    'forwards:',
    '  db: { target: i-0123456789abcdef0, remotePort: 1 }',
    'groups:',
    '  a: [b]',
    '  b: [a, db]',
  ]);
  t.equal(cyc.length, 1, 'one cycle, reported once');
  t.match(cyc[0]?.message, /group "a" contains itself \(a → b → a\)/);
});

t.test('config-problems-sorted: every problem of a forward, in line order, "1 problem"', async (t) => {
  const issues = issuesOf([
    'forwards:',
    '  b:',
    '    target: nosuchalias', // 3: reported even though remotePort is also wrong
    '    remotePort: 0', //       4
    '    localPort: 15432', //    5
    '  a:',
    '    target: i-0123456789abcdef0',
    '    remotePort: 1',
    '    localPort: 15432', //    9: duplicate of b's, still seen although b is broken
  ]);
  t.same(
    issues.map((i) => i.line),
    [3, 4, 9],
  );
  t.match(issues[2]?.message, /also used by forward "b"/);
  try {
    load(['forwards: { a: { target: i-0123456789abcdef0, remotePort: 0 } }']);
  } catch (e) {
    t.equal((e as Error).message, 'invalid configuration: 1 problem');
  }
});

t.test('local-port-privileged: config and SPEC agree (below 1024 allowed, 0 refused)', async (t) => {
  const config = load(['forwards:', '  web: { target: i-0123456789abcdef0, remotePort: 80, localPort: 80 }']);
  t.equal(selectForwards(config, ['web'])[0]?.localPort, 80);
  t.equal(parseSpecText('web:80:80')?.localPort, 80);
  t.match(issuesOf(['forwards:', '  web: { target: i-0123456789abcdef0, remotePort: 80, localPort: 0 }']), [
    { message: /local port 0 is not allowed/, hint: /auto/ },
  ]);
  t.throws(() => parseSpecText('web:80:0'), /write auto/);
});

t.test('spec-zone-id: an IPv6 host with a zone id, printed in brackets', async (t) => {
  t.same(parseSpecText('demo:[fe80::1%eth0]:5432'), { target: 'demo', host: 'fe80::1%eth0', remotePort: 5432 });
  t.same(parseSpecText('demo:[::1]:8081:auto'), { target: 'demo', host: '::1', remotePort: 8081, localPort: 'auto' });
  t.throws(() => parseSpecText('demo:[::1:8081'), /unclosed "\["/);
  t.throws(() => parseSpecText('demo:::1]:8081'), /"\]" without "\["/);
  t.throws(() => parseSpecText('demo:[db]:8081'), /not an IPv6 address/);
  t.equal(hostForDisplay('fe80::1%eth0'), '[fe80::1%eth0]');
  t.equal(hostForDisplay('db.internal'), 'db.internal');
  t.equal(hostForDisplay('10.0.0.5'), '10.0.0.5');
});

t.test('masked-excerpt: values after = or : are never shown; long words are cut', async (t) => {
  t.equal(maskedExcerpt('aws_secret_access_key = abc/def'), '"aws_secret_access_key = ***" (31 characters)');
  t.equal(maskedExcerpt('password: hunter2'), '"password: ***" (17 characters)');
  t.notMatch(maskedExcerpt('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ'), /BADAN/);
  t.equal(maskedExcerpt('::1'), '"::1"');
  t.equal(shortText('a\u001b[2Jb'), 'a\\u001b[2Jb', 'control characters escaped');
  t.ok(shortText('x'.repeat(5000)).length < 100);
});
