import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { VERSION } from '../../src/cli/version.js';
import { CapturedIo } from './capture-io.js';

const CONFIG = [
  'targets:',
  '  bastion: i-0123456789abcdef0',
  'forwards:',
  '  db: { target: bastion, host: db.internal, remotePort: 5432, localPort: 15432 }',
  '  cache: { target: bastion, remotePort: 6379, localPort: auto, lazy: true }',
  'groups:',
  '  backend: [db, cache]',
].join('\n');

async function run(
  argv: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; io: CapturedIo }> {
  const io = new CapturedIo({ cwd, env });
  const code = await main(argv, io);
  t.equal(io.exitCode, code, 'the exit status went through io.setExitCode');
  return { code, io };
}

t.test('--help lists the commands and exits 0; --version prints the version', async (t) => {
  const dir = t.testdir({});
  const help = await run(['--help'], dir);
  t.equal(help.code, 0);
  for (const c of ['up', 'run', 'ls', 'targets', 'init', 'emulator', 'demo', 'completion'])
    t.match(help.io.stdout.text, new RegExp(`tunnel ${c}\\b`));
  t.notMatch(help.io.stdout.text, /__complete/, 'the helper command is hidden');
  const version = await run(['--version'], dir);
  t.equal(version.code, 0);
  t.equal(version.io.stdout.text.trim(), VERSION);
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  t.match(pkg, { version: VERSION }, 'VERSION matches package.json');
});

t.test('usage errors exit 2 with a pointer to --help', async (t) => {
  const dir = t.testdir({});
  const unknown = await run(['--nope'], dir);
  t.equal(unknown.code, 2);
  t.match(unknown.io.stderr.text, /Unknown argument: nope[\s\S]*tunnel --help/);
  const badSpec = await run(['db:70000'], dir);
  t.equal(badSpec.code, 2);
  t.match(badSpec.io.stderr.text, /remote port "70000"/);
  const nothing = await run(['--no-user-config'], dir);
  t.equal(nothing.code, 2);
  t.match(nothing.io.stderr.text, /nothing to forward/);
  const noCmd = await run(['run', 'db:5432'], dir);
  t.equal(noCmd.code, 2, 'run without -- CMD');
});

t.test('config problems exit 78 and list every issue with file:line:column', async (t) => {
  const dir = t.testdir({
    '.tunnel.yaml': 'forwards:\n  db:\n    target: nowhere\n    remotePort: 5432\n    locelPort: 1\n',
  });
  const { code, io } = await run(['up'], dir);
  t.equal(code, 78);
  const file = join(dir, '.tunnel.yaml');
  t.match(io.stderr.text, `${file}:3:13: forwards.db.target: unknown target alias "nowhere"`);
  t.match(io.stderr.text, `${file}:5:5: forwards.db.locelPort: unknown key "locelPort" (did you mean "localPort"?)`);
  t.equal(io.stdout.text, '', 'nothing on stdout without --json');
});

t.test('with --json a failure is one error event on stdout', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': 'forwards:\n  db: { target: nowhere, remotePort: 5432 }\n' });
  const { code, io } = await run(['up', '--json'], dir);
  t.equal(code, 78);
  const lines = io.stdout.lines().map((l) => JSON.parse(l) as unknown);
  t.equal(lines.length, 1);
  t.match(lines[0], {
    type: 'error',
    code: 'ERR_CONFIG_INVALID',
    exitCode: 78,
    issues: [{ path: 'forwards.db.target', line: 2 }],
  });
});

t.test('unknown forward names on the command line suggest the closest (78)', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': CONFIG });
  const { code, io } = await run(['up', 'bakend'], dir);
  t.equal(code, 78);
  t.match(io.stderr.text, /no forward or group named "bakend"; did you mean "backend"\?/);
});

t.test('ls shows forwards resolved, and --json as one object per line', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': CONFIG });
  const plain = await run(['ls', '--no-user-config'], dir);
  t.equal(plain.code, 0);
  t.match(plain.io.stdout.text, /FORWARD\s+LOCAL\s+TARGET\s+REMOTE/);
  t.match(plain.io.stdout.text, /db\s+127\.0\.0\.1,::1 :15432\s+i-0123456789abcdef0\s+db\.internal:5432/);
  t.match(plain.io.stdout.text, /backend\s+db, cache/);
  const json = await run(['ls', '--json', 'backend'], dir);
  const objs = json.io.stdout.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(objs, [
    { type: 'forward', forward: 'db', remotePort: 5432, localPort: 15432, remoteHost: 'db.internal' },
    { type: 'forward', forward: 'cache', localPort: 'auto', lazy: true },
    { type: 'group', group: 'backend', members: ['db', 'cache'] },
  ]);
});

t.test('init writes a starter config that ls accepts; it will not overwrite without --force', async (t) => {
  const dir = t.testdir({});
  const first = await run(['init'], dir);
  t.equal(first.code, 0);
  t.ok(existsSync(join(dir, '.tunnel.yaml')));
  const ls = await run(['ls'], dir);
  t.equal(ls.code, 0, 'the starter config validates');
  t.match(ls.io.stdout.text, /^db\s/m);
  const again = await run(['init'], dir);
  t.equal(again.code, 78);
  t.match(again.io.stderr.text, /already exists/);
  t.equal((await run(['init', '--force'], dir)).code, 0);
});

t.test('completion scripts and candidates from the config', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': CONFIG });
  const bash = await run(['completion', 'bash'], dir);
  t.match(bash.io.stdout.text, /complete -o default -F _tunnel_completions tunnel/);
  const zsh = await run(['completion'], dir, { SHELL: '/bin/zsh' });
  t.match(zsh.io.stdout.text, /compdef _tunnel tunnel/);
  const fish = await run(['completion', 'fish'], dir);
  t.equal(fish.code, 0);
  t.match(fish.io.stdout.text, /complete -c tunnel -f -a '\(__tunnel_complete\)'/);
  t.match((await run(['completion'], dir, { SHELL: '/usr/bin/fish' })).io.stdout.text, /commandline -opc/);
  t.equal((await run(['completion', 'tcsh'], dir)).code, 2);
  const c1 = await run(['__complete', '--index', '1', '--', 'tunnel', ''], dir);
  t.same(
    c1.io.stdout.lines().sort(),
    [
      'backend',
      'cache',
      'completion',
      'daemon',
      'db',
      'demo',
      'doctor',
      'down',
      'emulator',
      'hosts',
      'init',
      'login',
      'logout',
      'logs',
      'ls',
      'run',
      'service',
      'status',
      'targets',
      'token',
      'up',
    ].sort(),
  );
  const c5 = await run(['__complete', '--index', '2', '--', 'tunnel', 'doctor', 'ca'], dir);
  t.same(c5.io.stdout.lines(), ['cache'], 'doctor completes forward names');
  const c2 = await run(['__complete', '--index', '2', '--', 'tunnel', 'up', 'ba'], dir);
  t.same(c2.io.stdout.lines(), ['backend']);
  const c4 = await run(['__complete', '--index', '4', '--', 'tunnel', '--profile', 'up', 'ls', 'c'], dir);
  t.same(c4.io.stdout.lines(), ['cache'], 'a flag value is not taken for the command');
  const c3 = await run(['__complete', '--index', '2', '--', 'tunnel', 'targets', '--t'], dir);
  t.same(c3.io.stdout.lines(), ['--timeout', '--tag']);
});

t.test('array options take one value per flag, so SPECs after them stay SPECs', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': CONFIG });
  const { code, io } = await run(['ls', '--bind', '127.0.0.1', 'db', '--bind', '::1,127.0.0.2', '--json'], dir);
  t.equal(code, 0, io.stderr.text);
  const lines = io.stdout.lines().map((l) => JSON.parse(l) as { forward?: string; bind?: string[] });
  t.same(
    lines.map((l) => l.forward).filter((f) => f !== undefined),
    ['db'],
    'only db was listed',
  );
  t.same(lines[0]?.bind, ['127.0.0.1', '::1', '127.0.0.2'], 'the flags replace the default bind addresses');
});

t.test('bare `tunnel` prints the help and exits 0', async (t) => {
  const bare = await run([], t.testdir({}));
  t.equal(bare.code, 0);
  t.match(bare.io.stdout.text, /tunnel SPEC… \| tunnel <command>/);
  t.match(bare.io.stdout.text, /tunnel up\b/);
  t.equal(bare.io.stderr.text, '', 'no error');
});

t.test('a mistyped command suggests the command; names and SPECs are not second-guessed', async (t) => {
  const dir = t.testdir({ '.tunnel.yaml': CONFIG });
  for (const [typo, meant] of [
    ['tragets', 'targets'],
    ['dmeo', 'demo'],
    ['comp', 'completion'],
    ['Up', 'up'],
  ] as const) {
    const r = await run([typo, '--no-user-config'], dir);
    t.equal(r.code, 2, typo);
    t.match(r.io.stderr.text, `unknown command "${typo}": did you mean \`tunnel ${meant}\`?`);
    t.equal(r.io.stderr.text.match(/tunnel:/g)?.length, 1, 'said once');
  }
  // `db` is a forward here (it is nearly `ls`/`up` by letters, but a name wins); `dv` is not a
  // command and not near enough to one: the usual "no forward named" error.
  const typo = await run(['dv', '--no-user-config'], dir);
  t.equal(typo.code, 78);
  t.notMatch(typo.io.stderr.text, /did you mean `tunnel/);
});

t.test('subcommand help lists only the options that command uses', async (t) => {
  const dir = t.testdir({});
  const init = await run(['init', '--help'], dir);
  t.equal(init.code, 0);
  t.match(init.io.stdout.text, /--force/);
  t.match(init.io.stdout.text, /--quiet/);
  for (const unused of ['--bind', '--wait', '--timeout', '--profile', '--endpoint', '--json'])
    t.notMatch(init.io.stdout.text, new RegExp(`${unused}\\b`), `init: no ${unused}`);
  const targets = await run(['targets', '--help'], dir);
  t.match(targets.io.stdout.text, /--profile/);
  t.match(targets.io.stdout.text, /--tag/);
  t.notMatch(targets.io.stdout.text, /--bind\b/);
  t.notMatch(targets.io.stdout.text, /--wait\b/);
  const up = await run(['up', '--help'], dir);
  for (const used of ['--bind', '--wait', '--timeout', '--profile', '--json']) t.match(up.io.stdout.text, used);
  const completion = await run(['completion', '--help'], dir);
  t.notMatch(completion.io.stdout.text, /--profile|--config|--json/);
});

t.test('--profile <Tab> offers the profiles of the AWS config and credentials files', async (t) => {
  const dir = t.testdir({
    '.tunnel.yaml': CONFIG,
    aws: {
      config:
        '[default]\nregion = eu-west-1\n[profile dev]\nregion = x\n[profile prod-admin] # main\n[sso-session corp]\n',
      credentials: '[default]\naws_access_key_id = AKIA\n[ci]\naws_access_key_id = AKIB\n',
    },
  });
  const env = { AWS_CONFIG_FILE: join(dir, 'aws/config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws/credentials') };
  const all = await run(['__complete', '--index', '2', '--', 'tunnel', '--profile', ''], dir, env);
  t.same(all.io.stdout.lines(), ['ci', 'default', 'dev', 'prod-admin']);
  const p = await run(['__complete', '--index', '3', '--', 'tunnel', 'up', '--profile', 'pr'], dir, env);
  t.same(p.io.stdout.lines(), ['prod-admin']);
  const eq = await run(['__complete', '--index', '1', '--', 'tunnel', '--profile=d'], dir, env);
  t.same(eq.io.stdout.lines(), ['--profile=default', '--profile=dev']);
  const region = await run(['__complete', '--index', '2', '--', 'tunnel', '--region', ''], dir, env);
  t.same(region.io.stdout.lines(), [], 'other flag values are not offered commands');
  const home = await run(['__complete', '--index', '2', '--', 'tunnel', '--profile', ''], dir, {});
  t.same(home.io.stdout.lines(), [], 'no AWS files: no candidates, no error');
});
