/**
 * MFA once (issue #15): a profile that assumes a role with `mfa_serial` asks for the code on
 * the terminal once; the role credentials go to the AWS CLI's cache (~/.aws/cli/cache, 0600)
 * and a second run within their lifetime asks for nothing and calls STS not at all.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withEmulator } from '../helpers/emulator.js';
import { calls, identityEnv, runTunnel, tempHome } from '../helpers/identity.js';

const ROLE = 'arn:aws:iam::123456789012:role/Admin';
const SERIAL = 'arn:aws:iam::123456789012:mfa/dev';

t.test('the MFA code is asked once across two runs; the cache is the AWS CLI one', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', identity: { mfaRoles: ['Admin'], mfaCode: '246810' } });
  const home = tempHome(
    t,
    [
      '[profile mfa]',
      `role_arn = ${ROLE}`,
      `mfa_serial = ${SERIAL}`,
      'source_profile = base',
      'region = us-east-1',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(home, '.aws', 'credentials'),
    `[base]\naws_access_key_id = ${emu.credentials.accessKeyId}\naws_secret_access_key = ${emu.credentials.secretAccessKey}\n`,
  );
  const env = identityEnv(emu, home);

  const first = runTunnel(t, ['targets', '--profile', 'mfa'], { env, cwd: home, tty: true });
  await first.wait(new RegExp(`MFA code for ${SERIAL}: `));
  first.write('246810\n');
  const r1 = await first.exit;
  t.equal(r1.code, 0, first.all());
  t.match(first.all(), /i-0123456789abcdef0/);
  t.equal(calls(emu, 'sts:AssumeRole').length, 1, 'one AssumeRole');
  t.match(calls(emu, 'sts:AssumeRole')[0]?.request, { roleArn: ROLE, serialNumber: SERIAL, tokenCode: '(given)' });

  // The AWS CLI's key: sha1 of json.dumps({RoleArn, SerialNumber}, sort_keys=True).
  const key = createHash('sha1').update(`{"RoleArn": "${ROLE}", "SerialNumber": "${SERIAL}"}`).digest('hex');
  const dir = join(home, '.aws', 'cli', 'cache');
  t.same(readdirSync(dir), [`${key}.json`]);
  t.equal(statSync(join(dir, `${key}.json`)).mode & 0o777, 0o600);
  const cached = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as {
    Credentials: Record<string, string>;
  };
  t.match(cached.Credentials, {
    AccessKeyId: /^ASIA/,
    SecretAccessKey: String,
    SessionToken: String,
    Expiration: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
  });

  const second = runTunnel(t, ['targets', '--profile', 'mfa'], { env, cwd: home, tty: true });
  const r2 = await second.exit;
  t.equal(r2.code, 0, second.all());
  t.match(second.all(), /i-0123456789abcdef0/);
  t.notMatch(second.all(), /MFA code/, 'no prompt the second time');
  t.equal(calls(emu, 'sts:AssumeRole').length, 1, 'no second AssumeRole');
  for (const secret of [cached.Credentials['SecretAccessKey'], cached.Credentials['SessionToken']]) {
    t.notOk(first.all().includes(secret ?? '-'), 'nothing secret printed (first run)');
    t.notOk(second.all().includes(secret ?? '-'), 'nothing secret printed (second run)');
  }
});

t.test('a wrong MFA code is refused (AccessDenied) and nothing is cached', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', identity: { mfaRoles: ['*'], mfaCode: '246810' } });
  const home = tempHome(
    t,
    [
      '[profile mfa]',
      `role_arn = ${ROLE}`,
      `mfa_serial = ${SERIAL}`,
      'source_profile = base',
      'region = us-east-1',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(home, '.aws', 'credentials'),
    `[base]\naws_access_key_id = ${emu.credentials.accessKeyId}\naws_secret_access_key = ${emu.credentials.secretAccessKey}\n`,
  );
  const run = runTunnel(t, ['targets', '--profile', 'mfa'], { env: identityEnv(emu, home), cwd: home, tty: true });
  await run.wait(/MFA code for /);
  run.write('000000\n');
  const r = await run.exit;
  t.equal(r.code, 77, run.all());
  t.match(run.all(), /MultiFactorAuthentication failed/);
  t.match(calls(emu, 'sts:AssumeRole'), [{ errorCode: 'AccessDenied' }]);
  let files: string[] = [];
  try {
    files = readdirSync(join(home, '.aws', 'cli', 'cache'));
  } catch {
    files = [];
  }
  t.same(files, [], 'nothing cached');
});
