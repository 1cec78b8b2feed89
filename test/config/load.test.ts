import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import { findProjectConfig, loadConfig, userConfigPath, writeConfigFile } from '../../src/config/load.js';

const PROJECT = [
  'defaults:',
  '  region: eu-west-1',
  'targets:',
  '  db: i-0123456789abcdef0',
  'forwards:',
  '  pg: { target: db, remotePort: 5432 }',
].join('\n');

t.test('finds .tunnel.yaml from a subdirectory and merges it over the user config', async (t) => {
  const dir = t.testdir({
    home: {
      '.config': {
        tunnel: {
          'config.yaml': 'defaults:\n  profile: me\n  region: us-east-1\ntargets:\n  jump: i-0fedcba9876543210\n',
        },
      },
    },
    proj: { '.tunnel.yaml': PROJECT.replace('target: db', 'target: jump'), src: { deep: {} } },
  });
  const loaded = await loadConfig({ cwd: join(dir, 'proj', 'src', 'deep'), env: {}, homedir: join(dir, 'home') });
  t.equal(loaded.projectFile, join(dir, 'proj', '.tunnel.yaml'));
  t.equal(loaded.userFile, join(dir, 'home', '.config', 'tunnel', 'config.yaml'));
  t.equal(loaded.config.defaults.profile, 'me', 'user value kept');
  t.equal(loaded.config.defaults.region, 'eu-west-1', 'project wins over user');
  t.same(loaded.config.forwards['pg']?.target, 'jump', 'a project forward may use a user target alias');
});

t.test('precedence: AWS env < user < project < TUNNEL_* env < flags', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': PROJECT });
  const base = { cwd: dir, homedir: dir };
  const r = async (env: Record<string, string>, flags = {}): Promise<string | undefined> =>
    (await loadConfig({ ...base, env, flags })).config.defaults.region;
  t.equal(await r({ AWS_REGION: 'us-west-2' }), 'eu-west-1');
  t.equal(await r({ AWS_REGION: 'us-west-2', TUNNEL_REGION: 'ap-south-1' }), 'ap-south-1');
  t.equal(await r({ TUNNEL_REGION: 'ap-south-1' }, { region: 'sa-east-1' }), 'sa-east-1');
  const noFile = await loadConfig({
    cwd: t.testdir({}),
    homedir: dir,
    env: { AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:9' },
  });
  t.equal(noFile.config.defaults.endpoint, 'http://127.0.0.1:9', 'the SDK variable is the fallback endpoint');
  const env = await loadConfig({ ...base, env: { TUNNEL_BIND: '127.0.0.1', TUNNEL_TIMEOUT: '2m' } });
  t.same(env.config.defaults.bind, ['127.0.0.1']);
  t.equal(env.config.defaults.timeoutMs, 120_000);
});

t.test('bad environment and flag values are reported by name', async (t) => {
  const dir = t.testdir({});
  await t.rejects(loadConfig({ cwd: dir, homedir: dir, env: { TUNNEL_TIMEOUT: 'later' }, flags: { bind: 'nope' } }), {
    code: 'ERR_CONFIG_INVALID',
    issues: [
      { file: '$TUNNEL_TIMEOUT', path: 'defaults.timeout' },
      { file: '--bind', path: 'defaults.bind' },
    ],
  });
});

t.test('.tunnel.yml and .tunnel.json are found too; .yaml wins in the same directory', async (t) => {
  const a = t.testdir({ '.tunnel.yml': 'forwards: {}\n' });
  t.equal(await findProjectConfig(a), join(a, '.tunnel.yml'));
  const b = t.testdir({ '.tunnel.json': '{}', '.tunnel.yaml': '{}' });
  t.equal(await findProjectConfig(b), join(b, '.tunnel.yaml'));
  const c = t.testdir({
    '.tunnel.json': '{"forwards":{"x":{"target":"i-0123456789abcdef0","remotePort":22,"localPort":2222}}}',
  });
  const loaded = await loadConfig({ cwd: c, env: {}, homedir: c });
  t.equal(loaded.config.forwards['x']?.localPort, 2222);
});

t.test('--config and $TUNNEL_CONFIG name the file; a missing one is ERR_CONFIG_NOT_FOUND', async (t) => {
  const dir = t.testdir({ 'other.yaml': PROJECT, '.tunnel.yaml': 'forwards: {}\n' });
  const viaFlag = await loadConfig({ cwd: dir, env: {}, homedir: dir, configPath: 'other.yaml' });
  t.ok(viaFlag.config.forwards['pg']);
  const viaEnv = await loadConfig({ cwd: dir, env: { TUNNEL_CONFIG: join(dir, 'other.yaml') }, homedir: dir });
  t.ok(viaEnv.config.forwards['pg']);
  await t.rejects(loadConfig({ cwd: dir, env: {}, homedir: dir, configPath: 'nope.yaml' }), {
    code: 'ERR_CONFIG_NOT_FOUND',
  });
});

t.test('problems in both files are reported together with their own file names', async (t) => {
  const dir = t.testdir({
    home: { '.config': { tunnel: { 'config.yaml': 'defaults:\n  profle: x\n' } } },
    proj: { '.tunnel.yaml': 'forwards:\n  db: { target: nowhere, remotePort: 5432 }\n' },
  });
  try {
    await loadConfig({ cwd: join(dir, 'proj'), env: {}, homedir: join(dir, 'home') });
    t.fail('should reject');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    if (!(e instanceof ConfigError)) return;
    t.equal(e.code, 'ERR_CONFIG_INVALID');
    t.match(e.issues, [
      { file: join(dir, 'home', '.config', 'tunnel', 'config.yaml'), line: 2, column: 3, hint: /profile/ },
      { file: join(dir, 'proj', '.tunnel.yaml'), line: 2, path: 'forwards.db.target' },
    ]);
  }
});

t.test('a parse error in one file and a schema error in the other are both reported', async (t) => {
  const dir = t.testdir({
    home: { '.config': { tunnel: { 'config.yaml': 'defaults: [\n' } } },
    proj: { '.tunnel.yaml': 'defaults:\n  regio: x\n' },
  });
  await t.rejects(loadConfig({ cwd: join(dir, 'proj'), env: {}, homedir: join(dir, 'home') }), {
    code: 'ERR_CONFIG_PARSE',
    issues: [{ file: /config\.yaml$/ }, { file: /\.tunnel\.yaml$/, path: 'defaults.regio' }],
  });
});

t.test('XDG_CONFIG_HOME moves the user config', async (t) => {
  t.equal(userConfigPath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/u'), join('/x/cfg', 'tunnel', 'config.yaml'));
  t.equal(userConfigPath({}, '/home/u'), join('/home/u', '.config', 'tunnel', 'config.yaml'));
  t.equal(
    userConfigPath({ XDG_CONFIG_HOME: 'relative' }, '/home/u'),
    join('/home/u', '.config', 'tunnel', 'config.yaml'),
    'relative XDG paths are ignored, per the spec',
  );
});

t.test('writeConfigFile refuses to overwrite unless forced', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': 'old' });
  const p = join(dir, '.tunnel.yaml');
  await t.rejects(writeConfigFile(p, 'new'), { code: 'ERR_CONFIG_INVALID' });
  t.equal(readFileSync(p, 'utf8'), 'old');
  await writeConfigFile(p, 'new', { force: true });
  t.equal(readFileSync(p, 'utf8'), 'new');
});
