import t from 'tap';
import { parseConfigText } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { impliedLocalPort, parseSpecText, selectForwards, specsFromWords } from '../../src/config/resolve.js';
import { envName } from '../../src/config/check.js';
import { mergeConfig } from '../../src/config/merge.js';

const text = [
  'defaults: { bind: [127.0.0.1] }',
  'targets:',
  '  bastion: i-0123456789abcdef0',
  '  web: { tags: { Role: web } }',
  'forwards:',
  '  db: { target: bastion, host: db.internal, remotePort: 5432, localPort: 15432, sessions: 2, reason: audit }',
  '  ssh: { target: i-0aaaaaaaaaaaaaaaa, remotePort: 22 }',
  '  http: { target: web, remotePort: 8080, localPort: auto, lazy: true, idleTimeout: 90 }',
  'groups:',
  '  backend: [db, http]',
  '  everything: [backend, ssh, db]',
].join('\n');
const src = parseConfigText(text, 'p.yaml');
const config = validateConfig(src.value, src);

t.test('configured forwards become engine specs', async (t) => {
  const [db, ssh, http] = selectForwards(config, []);
  t.same(db, {
    name: 'db',
    target: { kind: 'id', id: 'i-0123456789abcdef0' },
    remoteHost: 'db.internal',
    remotePort: 5432,
    localPort: 15432,
    bind: ['127.0.0.1'],
    sessions: 2,
    reason: 'audit',
  });
  t.same(ssh, {
    name: 'ssh',
    target: { kind: 'id', id: 'i-0aaaaaaaaaaaaaaaa' },
    remotePort: 22,
    localPort: 10022,
    allowBusyFallback: true,
    bind: ['127.0.0.1'],
  });
  t.same(http, {
    name: 'http',
    target: { kind: 'tags', tags: { Role: 'web' } },
    remotePort: 8080,
    localPort: 'auto',
    bind: ['127.0.0.1'],
    lazy: true,
    idleTimeoutMs: 90_000,
  });
});

t.test('groups expand recursively, in order, without duplicates', async (t) => {
  t.same(
    selectForwards(config, ['everything']).map((s) => s.name),
    ['db', 'http', 'ssh'],
  );
  t.same(
    selectForwards(config, ['ssh', 'backend']).map((s) => s.name),
    ['ssh', 'db', 'http'],
  );
});

t.test('an unknown name suggests the closest one', async (t) => {
  t.throws(() => selectForwards(config, ['backend', 'dbb']), {
    code: 'ERR_CONFIG_UNKNOWN_FORWARD',
    message: /"dbb".*did you mean "db"/,
  });
});

t.test('SPEC grammar', async (t) => {
  t.same(parseSpecText('db:5432'), { target: 'db', remotePort: 5432 });
  t.same(parseSpecText('db:5432:15432'), { target: 'db', remotePort: 5432, localPort: 15432 });
  t.same(parseSpecText('db:5432:auto'), { target: 'db', remotePort: 5432, localPort: 'auto' });
  t.same(parseSpecText('bastion:rds.internal:5432'), { target: 'bastion', host: 'rds.internal', remotePort: 5432 });
  t.same(parseSpecText('bastion:rds.internal:5432:6543'), {
    target: 'bastion',
    host: 'rds.internal',
    remotePort: 5432,
    localPort: 6543,
  });
  t.same(parseSpecText('bastion:[fd00::1]:5432'), { target: 'bastion', host: 'fd00::1', remotePort: 5432 });
  t.same(parseSpecText('tag:Role=db,Env=dev:5432'), { target: 'tag:Role=db,Env=dev', remotePort: 5432 });
  t.same(parseSpecText('tag:Role=db:rds.internal:5432:6000'), {
    target: 'tag:Role=db',
    host: 'rds.internal',
    remotePort: 5432,
    localPort: 6000,
  });
  t.equal(parseSpecText('db'), undefined, 'no colon: a config name');
  t.throws(() => parseSpecText('db:99999'), { code: 'ERR_CLI_USAGE', message: /remote port "99999"/ });
  t.throws(() => parseSpecText('db:5432:x'), { code: 'ERR_CLI_USAGE', message: /local port "x"/ });
  t.throws(() => parseSpecText(':5432'), { code: 'ERR_CLI_USAGE' });
  t.throws(() => parseSpecText('db::5432'), { code: 'ERR_CLI_USAGE' });
  t.throws(() => parseSpecText('a:b:1:2:3'), { code: 'ERR_CLI_USAGE', message: /too many/ });
});

t.test('ad-hoc SPECs and config names mix; names follow the target', async (t) => {
  const specs = specsFromWords(config, [
    'bastion:5432',
    'ssh',
    'web-1:80',
    'i-0bbbbbbbbbbbbbbbb:8080:9090',
    'tag:Role=db:5432',
  ]);
  t.same(
    specs.map((s) => s.name),
    ['bastion', 'ssh', 'web-1', 'i-0bbbbbbbbbbbbbbbb', 'Role-db'],
  );
  t.same(specs[4]?.target, { kind: 'tags', tags: { Role: 'db' } });
  t.same(specs[0]?.target, { kind: 'id', id: 'i-0123456789abcdef0' }, 'alias resolved');
  t.same(specs[0]?.localPort, 5432);
  t.equal(specs[0]?.allowBusyFallback, true, 'implied local port may fall back');
  t.same(specs[2]?.target, { kind: 'name', name: 'web-1' }, 'plain text is a Name tag');
  t.equal(specs[2]?.localPort, 10080, 'privileged remote port maps above 1024');
  t.same(specs[3]?.target, { kind: 'id', id: 'i-0bbbbbbbbbbbbbbbb' });
  t.equal(specs[3]?.localPort, 9090);
  t.equal(specs[3]?.allowBusyFallback, undefined, 'an explicit local port never falls back');
  const two = specsFromWords(config, ['db1:5432', 'db1:6379']);
  t.same(
    two.map((s) => s.name),
    ['db1-5432', 'db1-6379'],
  );
});

t.test('a bare word that is not a configured name suggests a name or the SPEC form', async (t) => {
  t.throws(() => specsFromWords(config, ['sh']), { code: 'ERR_CONFIG_UNKNOWN_FORWARD', message: /did you mean "ssh"/ });
  t.throws(() => specsFromWords(config, ['postgres']), {
    code: 'ERR_CONFIG_UNKNOWN_FORWARD',
    message: /write postgres:PORT/,
  });
});

t.test('impliedLocalPort, envName', async (t) => {
  t.equal(impliedLocalPort(22), 10022);
  t.equal(impliedLocalPort(1024), 1024);
  t.equal(envName('db-replica.x'), 'DB_REPLICA_X');
});

t.test('mergeConfig: later layers win per default key and per named entry', async (t) => {
  const a = {
    defaults: { region: 'a-b-1', profile: 'p' },
    targets: {},
    forwards: { x: { target: 't', remotePort: 1 } },
    groups: {},
    origins: new Map(),
  };
  const b = {
    defaults: { region: 'c-d-2' },
    targets: {},
    forwards: { x: { target: 'u', remotePort: 2 } },
    groups: {},
    origins: new Map(),
  };
  const m = mergeConfig(a, b);
  t.same(m.defaults, { bind: ['127.0.0.1', '::1'], timeoutMs: 30_000, region: 'c-d-2', profile: 'p' });
  t.same(m.forwards['x'], { target: 'u', remotePort: 2 });
  t.same(a.forwards.x, { target: 't', remotePort: 1 }, 'inputs are not mutated');
});
