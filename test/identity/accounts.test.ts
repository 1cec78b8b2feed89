/**
 * A profile and region per forward (issue #15): one `tunnel up` runs a forward in account
 * 111111111111 / us-east-1 and one in 222222222222 / eu-west-1, each with its own clients and
 * credentials. Both targets are named `db`: each forward finds exactly its own account's
 * instance (a shared client would see both and call the name ambiguous, or neither).
 */
import t from 'tap';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { withEmulator } from '../helpers/emulator.js';
import { calls, identityEnv, runTunnel, tempHome } from '../helpers/identity.js';
import { startLoopbackServer } from '../helpers/loopback.js';

const A = 'i-0aaaaaaaaaaaaaaa1';
const B = 'i-0bbbbbbbbbbbbbbb2';

const CONFIG = [
  '[profile alpha]',
  'sso_session = corp',
  'sso_account_id = 111111111111',
  'sso_role_name = Developer',
  '',
  '[profile beta]',
  'sso_session = corp',
  'sso_account_id = 222222222222',
  'sso_role_name = Developer',
  '',
  '[sso-session corp]',
  'sso_start_url = https://corp.example/start',
  'sso_region = us-east-1',
  '',
].join('\n');

async function greeting(port: number): Promise<string> {
  const s = connect({ host: '127.0.0.1', port });
  let got = '';
  for (let i = 0; i < 1000 && !got.includes('\n'); i++) {
    const [d] = (await once(s, 'data')) as [Buffer];
    got += d.toString();
  }
  s.destroy();
  return got.trim();
}

t.test('two forwards, two profiles and regions, one `tunnel up`; `tunnel ls` shows them', async (t) => {
  const alpha = await startLoopbackServer(t, (s) => s.end('alpha\n'));
  const beta = await startLoopbackServer(t, (s) => s.end('beta\n'));
  const emu = await withEmulator(t, {
    pacing: 'none',
    identity: { autoApprove: true },
    instances: [
      { instanceId: A, name: 'db', accountId: '111111111111', region: 'us-east-1' },
      { instanceId: B, name: 'db', accountId: '222222222222', region: 'eu-west-1' },
    ],
    destinations: [
      { instance: A, port: 5432, to: { host: '127.0.0.1', port: alpha.port } },
      { instance: B, port: 5432, to: { host: '127.0.0.1', port: beta.port } },
    ],
  });
  const home = tempHome(t, CONFIG);
  writeFileSync(
    join(home, '.tunnel.yaml'),
    [
      'targets:',
      '  beta-db: { name: db, profile: beta, region: eu-west-1 }',
      'forwards:',
      '  a:',
      '    target: { name: db }',
      '    profile: alpha',
      '    region: us-east-1',
      '    remotePort: 5432',
      '    localPort: auto',
      '  b:',
      '    target: beta-db',
      '    remotePort: 5432',
      '    localPort: auto',
      '',
    ].join('\n'),
  );
  const env = identityEnv(emu, home);
  const login = runTunnel(t, ['login', '--profile', 'alpha', '--no-browser'], { env, cwd: home });
  t.equal((await login.exit).code, 0, login.stderr());

  const ls = runTunnel(t, ['ls', '--no-user-config'], { env, cwd: home });
  t.equal((await ls.exit).code, 0, ls.stderr());
  t.match(ls.stdout(), /^a\s.*profile=alpha region=us-east-1/m);
  t.match(ls.stdout(), /^b\s.*profile=beta region=eu-west-1/m);
  const lsJson = runTunnel(t, ['ls', '--json', '--no-user-config', '--resolve'], { env, cwd: home });
  t.equal((await lsJson.exit).code, 0, lsJson.stderr());
  const rows = lsJson
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(rows, [
    { forward: 'a', profile: 'alpha', region: 'us-east-1', resolved: { instanceId: A } },
    { forward: 'b', profile: 'beta', region: 'eu-west-1', resolved: { instanceId: B } },
  ]);

  const up = runTunnel(t, ['up', '--json', '--no-user-config'], { env, cwd: home });
  const ready = await up.until(() => {
    const evs = up
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e['type'] === 'ready');
    return evs.length === 2 ? evs : undefined;
  });
  const portOf = (name: string): number =>
    (ready.find((e) => e['forward'] === name)?.['addresses'] as Array<{ port: number }>)[0]?.port ?? 0;
  t.match(ready, [
    { forward: 'a', target: A },
    { forward: 'b', target: B },
  ]);
  t.equal(await greeting(portOf('a')), 'alpha', 'forward a reaches account 111111111111');
  t.equal(await greeting(portOf('b')), 'beta', 'forward b reaches account 222222222222 in eu-west-1');
  const roles = calls(emu, 'sso:GetRoleCredentials').map((c) => (c.request as { accountId: string }).accountId);
  t.ok(roles.includes('111111111111') && roles.includes('222222222222'), 'role keys for each account');
  const starts = calls(emu, 'StartSession').filter((c) => c.errorCode === undefined);
  t.same(starts.map((c) => (c.request as { Target: string }).Target).sort(), [A, B]);
  up.child.kill('SIGTERM');
  t.equal((await up.exit).code, 0);
});
