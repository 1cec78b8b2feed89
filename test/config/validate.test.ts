import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import type { ConfigIssue } from '../../src/errors.js';
import { parseConfigText } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { STARTER_CONFIG } from '../../src/config/starter.js';
import { DEFAULT_CONFIG } from '../../src/config/schema.js';

function issuesOf(text: string, file = 'p.yaml'): readonly ConfigIssue[] {
  try {
    validateConfig(parseConfigText(text, file).value, parseConfigText(text, file));
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

function find(issues: readonly ConfigIssue[], path: string): ConfigIssue | undefined {
  return issues.find((i) => i.path === path);
}

t.test('a valid config becomes typed forwards with defaults filled in', async (t) => {
  const text = [
    'defaults:',
    '  region: eu-west-1',
    '  timeout: 45s',
    'targets:',
    '  bastion: i-0123456789abcdef0',
    '  app: { tags: { Role: app } }',
    'forwards:',
    '  db: { target: bastion, host: db.internal, remotePort: 5432, localPort: 15432 }',
    '  web: { target: app, remotePort: 8080, localPort: auto, lazy: true, idleTimeout: 5m }',
    'groups:',
    '  all: [db, web]',
  ].join('\n');
  const src = parseConfigText(text, 'p.yaml');
  const c = validateConfig(src.value, src);
  t.equal(c.defaults.region, 'eu-west-1');
  t.equal(c.defaults.timeoutMs, 45_000);
  t.same(c.defaults.bind, DEFAULT_CONFIG.defaults.bind);
  t.same(c.targets['bastion'], { kind: 'id', id: 'i-0123456789abcdef0' });
  t.same(c.targets['app'], { kind: 'tags', tags: { Role: 'app' } });
  t.same(c.forwards['db'], { target: 'bastion', host: 'db.internal', remotePort: 5432, localPort: 15432 });
  t.equal(c.forwards['web']?.idleTimeoutMs, 300_000);
  t.equal(c.forwards['web']?.localPort, 'auto');
  t.same(c.groups['all'], ['db', 'web']);
});

t.test('reports every problem at once, each with line, column and a hint', async (t) => {
  const text = [
    'defaults:', //                                     1
    '  regoin: eu-west-1', //                           2  unknown key
    'targets:', //                                      3
    '  bastion: i-0123456789abcdef0', //                4
    'forwards:', //                                     5
    '  db:', //                                         6
    '    target: bastoin', //                           7  unknown alias
    '    remotePort: 70000', //                         8  bad port
    '    localPort: 0', //                              9  0 is not a port (auto is)
    '  web:', //                                        10
    '    target: bastion', //                           11
    '    remotePort: 8080', //                          12
    '    localPort: 9000', //                           13
    '    lazzy: true', //                               14 unknown key
    '  api:', //                                        15
    '    target: bastion', //                           16
    '    remotePort: 9090', //                          17
    '    localPort: 9000', //                           18 duplicate local port
    'groups:', //                                       19
    '  dev: [web, apii]', //                            20 unknown member
  ].join('\n');
  const issues = issuesOf(text);
  const region = find(issues, 'defaults.regoin');
  t.match(region, {
    file: 'p.yaml',
    line: 2,
    column: 3,
    message: /unknown key "regoin"/,
    hint: /did you mean "region"/,
  });
  t.match(find(issues, 'forwards.db.remotePort'), { line: 8, column: 17, message: /70000 is not a valid port/ });
  t.match(find(issues, 'forwards.db.localPort'), { line: 9, column: 16, message: /local port 0/, hint: /auto/ });
  t.match(find(issues, 'forwards.web.lazzy'), { line: 14, column: 5, hint: /did you mean "lazy"/ });
  t.match(find(issues, 'forwards.api.localPort'), {
    line: 18,
    column: 16,
    message: /also used by forward "web" \(p\.yaml:13\)/,
  });
  t.match(find(issues, 'groups.dev[1]'), {
    line: 20,
    column: 14,
    message: /unknown forward or group "apii"/,
    hint: /did you mean "api"/,
  });
  // A forward with a bad remote port is still checked for its other problems (its target).
  t.match(find(issues, 'forwards.db.target'), { line: 7, message: /unknown target alias "bastoin"/ });
  t.equal(issues.length, 7, 'exactly the seven problems, no cascades');
  t.same(
    issues.map((i) => i.line),
    [2, 7, 8, 9, 14, 18, 20],
    'in reading order',
  );
});

t.test('an unknown target alias gets the closest alias and the Name tag spelling', async (t) => {
  const issues = issuesOf(
    'targets:\n  database: i-0123456789abcdef0\nforwards:\n  db:\n    target: databse\n    remotePort: 5432\n',
  );
  t.equal(issues.length, 1);
  t.match(issues[0], {
    path: 'forwards.db.target',
    line: 5,
    column: 13,
    message: /unknown target alias "databse"/,
    hint: /did you mean "database"\?.*name: databse/,
  });
});

t.test('instance ids and tag: expressions are accepted as targets without an alias', async (t) => {
  t.same(
    issuesOf(
      'forwards:\n  a: { target: i-0123456789abcdef0, remotePort: 22, localPort: 2222 }\n  b: { target: "tag:Role=db", remotePort: 5432 }\n',
    ),
    [],
  );
});

t.test('sessions: auto, a count, or { min, max } bounds; anything else is explained', async (t) => {
  const ok = issuesOf(
    [
      'forwards:',
      '  a: { target: i-0123456789abcdef0, remotePort: 1, sessions: auto }',
      '  b: { target: i-0123456789abcdef0, remotePort: 2, sessions: 3 }',
      '  c: { target: i-0123456789abcdef0, remotePort: 3, sessions: { min: 2, max: 8 } }',
    ].join('\n'),
  );
  t.same(ok, []);
  const bad = issuesOf(
    [
      'forwards:',
      '  a: { target: i-0123456789abcdef0, remotePort: 1, sessions: { min: 5, max: 2 } }',
      '  b: { target: i-0123456789abcdef0, remotePort: 2, sessions: many }',
      '  c: { target: i-0123456789abcdef0, remotePort: 3, sessions: { min: 1, max: 99 } }',
      '  d: { target: i-0123456789abcdef0, remotePort: 4, sessions: { min: 1, max: 2, extra: 1 } }',
    ].join('\n'),
  );
  for (const name of ['a', 'b', 'c', 'd'])
    t.match(find(bad, `forwards.${name}.sessions`), { message: /session count/, hint: /auto/ });
});

t.test('structural errors: wrong types, missing keys, bad names, bad bind', async (t) => {
  const text = [
    'forwards:',
    '  db:',
    '    host: x',
    '  "9bad": { target: i-0123456789abcdef0, remotePort: 1 }',
    '  web: { target: i-0123456789abcdef0, remotePort: "8080", bind: [localhost], sessions: 0, lazy: "yes" }',
    'defaults: { endpoint: "ftp://x", timeout: soon }',
  ].join('\n');
  const issues = issuesOf(text);
  t.match(
    issues.find((i) => i.path === 'forwards.db' && /target/.test(i.message)),
    { line: 2 },
  );
  t.ok(issues.find((i) => i.path === 'forwards.db' && /remotePort/.test(i.message)));
  t.match(find(issues, 'forwards.9bad'), { line: 4, column: 3, message: /not a valid name/ });
  t.match(find(issues, 'forwards.web.remotePort'), { hint: /without quotes/ });
  t.match(find(issues, 'forwards.web.bind[0]'), { message: /not an IP address/ });
  t.match(find(issues, 'forwards.web.sessions'), { message: /session count/ });
  t.match(find(issues, 'forwards.web.lazy'), { message: /true or false/ });
  t.match(find(issues, 'defaults.endpoint'), { line: 6, message: /http/ });
  t.match(find(issues, 'defaults.timeout'), { message: /duration/ });
});

t.test('groups: self-containing groups and group/forward name clashes', async (t) => {
  const issues = issuesOf(
    'forwards:\n  a: { target: i-0123456789abcdef0, remotePort: 1 }\ngroups:\n  x: [y]\n  y: [x, a]\n  a: [a]\n',
  );
  t.ok(issues.some((i) => i.path === 'groups.x' && /contains itself/.test(i.message)));
  t.ok(issues.some((i) => i.path === 'groups.a' && /both a group and a forward/.test(i.message)));
});

t.test('names that collide as environment variables are reported', async (t) => {
  const issues = issuesOf(
    'forwards:\n  db-a: { target: i-0123456789abcdef0, remotePort: 1 }\n  db_a: { target: i-0123456789abcdef0, remotePort: 2 }\n',
  );
  t.match(issues, [{ path: 'forwards.db_a', line: 3, message: /TUNNEL_DB_A_/ }]);
});

t.test('YAML syntax errors and duplicate keys are parse errors with positions', async (t) => {
  t.throws(() => parseConfigText('forwards:\n  db: { target: x\n', 'bad.yaml'), {
    code: 'ERR_CONFIG_PARSE',
    issues: [{ file: 'bad.yaml', line: Number }],
  });
  try {
    parseConfigText('forwards:\n  db: 1\n  db: 2\n', 'dup.yaml');
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    if (e instanceof ConfigError) t.match(e.issues[0], { line: 3, column: 3, hint: /once/ });
  }
});

t.test('JSON config files get positions too', async (t) => {
  const json = '{\n  "forwards": {\n    "db": { "target": "i-0123456789abcdef0", "remotePort": 0 }\n  }\n}\n';
  const issues = issuesOf(json, 'p.json');
  t.match(issues, [{ file: 'p.json', path: 'forwards.db.remotePort', line: 3, column: 60 }]);
});

t.test('the tunnel init starter file is valid', async (t) => {
  const src = parseConfigText(STARTER_CONFIG, '.tunnel.yaml');
  const c = validateConfig(src.value, src);
  t.ok(c.forwards['db']);
  t.same(c.groups['backend'], ['db']);
});

t.test('an empty file is an empty config', async (t) => {
  const src = parseConfigText('', 'e.yaml');
  t.same(Object.keys(validateConfig(src.value, src).forwards), []);
  t.throws(() => validateConfig([1, 2]), { code: 'ERR_CONFIG_INVALID', issues: [{ message: /must be a mapping/ }] });
});
