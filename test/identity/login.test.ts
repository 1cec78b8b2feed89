/**
 * `tunnel login` / `tunnel logout` (issue #15) as a user runs them: the built CLI in a
 * subprocess, a temporary HOME with an AWS config written here, the emulator's sign-in
 * endpoints through AWS_ENDPOINT_URL_SSO_OIDC / _SSO, and the code approved through the
 * verification URL the CLI printed (the emulator's documented test hook).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { withEmulator } from '../helpers/emulator.js';
import { calls, identityEnv, runTunnel, tempHome, waitForCall } from '../helpers/identity.js';

const SESSION_CONFIG = [
  '[profile dev]',
  'sso_session = corp',
  'sso_account_id = 123456789012',
  'sso_role_name = Developer',
  'region = us-east-1',
  '',
  '[sso-session corp]',
  'sso_start_url = https://corp.example/start',
  'sso_region = us-east-1',
  'sso_registration_scopes = sso:account:access',
  '',
  '[profile legacy]',
  'sso_start_url = https://legacy.example/start',
  'sso_region = us-east-1',
  'sso_account_id = 123456789012',
  'sso_role_name = Developer',
  'region = us-east-1',
  '',
  '[profile keys]',
  'region = us-east-1',
  '',
].join('\n');

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

t.test(
  'login: pending → slow_down → approved; the standard cache file; the SDK uses it for `tunnel targets`',
  async (t) => {
    const emu = await withEmulator(t, { pacing: 'none', identity: { slowDownOnce: true } });
    const home = tempHome(t, SESSION_CONFIG);
    const env = identityEnv(emu, home);

    const login = runTunnel(t, ['login', '--profile', 'dev', '--no-browser'], { env, cwd: home });
    const [, url, code] = await login.wait(/Open (\S+)\nand confirm the code: ([A-Z]{4}-[A-Z]{4})/);
    // Approve only once the CLI has been told to slow down: the sequence is then fixed.
    await waitForCall(emu, (c) => c.operation === 'sso-oidc:CreateToken' && c.errorCode === 'SlowDownException');
    t.ok(url?.includes(`user_code=${code ?? ''}`), 'the complete verification URL carries the printed code');
    const approve = await fetch(url ?? '');
    t.equal(approve.status, 200, 'the verification URL approves the pending code');
    const done = await login.exit;
    t.equal(done.code, 0, login.stderr());
    t.match(login.stderr(), /Not opening a browser \(--no-browser\)/);
    t.same(
      calls(emu, 'sso-oidc:CreateToken').map((c) => c.errorCode ?? 'ok'),
      ['AuthorizationPendingException', 'SlowDownException', 'ok'],
      'pending, then slow_down, then the token',
    );
    t.equal(calls(emu, 'sso-oidc:RegisterClient').length, 1);
    t.equal(calls(emu, 'sso-oidc:StartDeviceAuthorization').length, 1);

    // The cache: sha1(session name), 0600, the fields the AWS CLI and SDKs read.
    const file = join(home, '.aws', 'sso', 'cache', `${sha1('corp')}.json`);
    t.ok(existsSync(file), 'cache file named sha1(sso-session name)');
    t.equal(statSync(file).mode & 0o777, 0o600, 'file mode 0600');
    t.equal(statSync(join(home, '.aws', 'sso', 'cache')).mode & 0o777, 0o700, 'directory mode 0700');
    const token = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    t.equal(token['startUrl'], 'https://corp.example/start');
    t.equal(token['region'], 'us-east-1');
    t.match(token['expiresAt'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    t.ok(Date.parse(token['expiresAt'] ?? '') > Date.now(), 'expires in the future');
    for (const k of ['accessToken', 'refreshToken', 'clientId', 'clientSecret', 'registrationExpiresAt'])
      t.type(token[k], 'string', `${k} is cached`);
    t.match(login.stdout(), /Signed in: profile dev until .*; cached in .*\.json/);

    // The SDK's own SSO provider reads that cache: GetRoleCredentials, then SSM with those keys.
    const targets = runTunnel(t, ['targets', '--profile', 'dev', '--region', 'us-east-1'], { env, cwd: home });
    const tr = await targets.exit;
    t.equal(tr.code, 0, targets.stderr());
    t.match(targets.stdout(), /i-0123456789abcdef0\s+demo\s+Online/);
    t.equal(calls(emu, 'sso:GetRoleCredentials').length, 1, 'role credentials fetched with the cached token');
    t.ok(calls(emu, 'DescribeInstanceInformation').some((c) => c.errorCode === undefined));

    // Nothing secret printed by either command.
    for (const secret of [token['accessToken'], token['refreshToken'], token['clientSecret']]) {
      t.notOk(login.all().includes(secret ?? '-'), 'login prints no token');
      t.notOk(targets.all().includes(secret ?? '-'), 'targets prints no token');
    }

    // A second login refreshes with the cached refresh token: no new device code.
    const again = runTunnel(t, ['login', '--profile', 'dev', '--no-browser'], { env, cwd: home });
    t.equal((await again.exit).code, 0, again.stderr());
    t.match(again.stdout(), /refreshed, no approval needed/);
    t.equal(calls(emu, 'sso-oidc:StartDeviceAuthorization').length, 1, 'no second device authorization');
    const refreshed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    t.not(refreshed['accessToken'], token['accessToken'], 'a new access token');
    t.equal(statSync(file).mode & 0o777, 0o600);

    // logout: sso:Logout, and the file is gone.
    const out = runTunnel(t, ['logout', '--profile', 'dev'], { env, cwd: home });
    t.equal((await out.exit).code, 0, out.stderr());
    t.notOk(existsSync(file), 'logout removes what login wrote');
    t.equal(calls(emu, 'sso:Logout').length, 1);
    const after = runTunnel(t, ['targets', '--profile', 'dev'], { env, cwd: home });
    t.equal((await after.exit).code, 77);
    t.match(after.stderr(), /run `tunnel login --profile dev`/);
    t.match(after.stderr(), /ERR_AWS_LOGIN_REQUIRED/);
  },
);

t.test('login: a legacy sso_start_url profile caches under sha1(start URL)', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', identity: { autoApprove: true } });
  const home = tempHome(t, SESSION_CONFIG);
  const env = identityEnv(emu, home);
  const login = runTunnel(t, ['login', '--profile', 'legacy', '--no-browser', '--json'], { env, cwd: home });
  t.equal((await login.exit).code, 0, login.stderr());
  const events = login
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(events[0], { type: 'login-prompt', profile: 'legacy', userCode: /^[A-Z]{4}-[A-Z]{4}$/ });
  t.match(events.at(-1), { type: 'logged-in', profile: 'legacy', method: 'device' });
  const file = join(home, '.aws', 'sso', 'cache', `${sha1('https://legacy.example/start')}.json`);
  t.equal(statSync(file).mode & 0o777, 0o600);
  const targets = runTunnel(t, ['targets', '--profile', 'legacy'], { env, cwd: home });
  t.equal((await targets.exit).code, 0, targets.stderr());
  t.match(targets.stdout(), /i-0123456789abcdef0/);
});

t.test('login: a profile without Identity Center settings is a config error (78)', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const home = tempHome(t, SESSION_CONFIG);
  const r = runTunnel(t, ['login', '--profile', 'keys', '--no-browser'], { env: identityEnv(emu, home), cwd: home });
  t.equal((await r.exit).code, 78);
  t.match(r.stderr(), /profile keys does not sign in through IAM Identity Center/);
});

t.test('login: a code that expires unapproved fails with ERR_AWS_LOGIN_FAILED (77)', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', identity: { deviceCodeLifetimeSeconds: 1 } });
  const home = tempHome(t, SESSION_CONFIG);
  const r = runTunnel(t, ['login', '--profile', 'dev', '--no-browser'], { env: identityEnv(emu, home), cwd: home });
  t.equal((await r.exit).code, 77);
  t.match(r.stderr(), /code expired before it was approved/);
  t.notOk(existsSync(join(home, '.aws', 'sso', 'cache', `${sha1('corp')}.json`)));
});
