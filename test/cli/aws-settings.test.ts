import t from 'tap';
import { awsSettingsFor } from '../../src/cli/aws-settings.js';
import { mergeConfig } from '../../src/config/merge.js';
import { CapturedIo } from './capture-io.js';

const layer = (defaults: Record<string, string>) => ({
  defaults,
  targets: {},
  forwards: {},
  groups: {},
  origins: new Map(),
});

t.test('settings come from the merged config; credentials from the injected environment', async (t) => {
  const io = new CapturedIo({
    cwd: '/',
    env: {
      AWS_ACCESS_KEY_ID: 'AKIAINJECTED00000001',
      AWS_SECRET_ACCESS_KEY: 's'.repeat(40),
      AWS_SESSION_TOKEN: 'tok-tok-tok',
    },
  });
  const s = await awsSettingsFor(io, mergeConfig(layer({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' })));
  t.equal(s.region, 'eu-west-1');
  t.equal(s.endpoint, 'http://127.0.0.1:9');
  t.equal(s.profile, undefined);
  t.same(s.env, io.env, 'the SDK reads AWS_ENDPOINT_URL_SSM from the injected env, not the ambient one');
  t.same(await s.credentials?.(), {
    accessKeyId: 'AKIAINJECTED00000001',
    secretAccessKey: 's'.repeat(40),
    sessionToken: 'tok-tok-tok',
  });
});

t.test(
  'a named profile wins over environment keys (as the SDK chain does); no prompt without a terminal',
  async (t) => {
    const home = t.testdir({ '.aws': { config: '[profile dev]\nregion = eu-west-1\n' } });
    const io = new CapturedIo({
      cwd: '/',
      env: { HOME: home, AWS_ACCESS_KEY_ID: 'AKIAINJECTED00000001', AWS_SECRET_ACCESS_KEY: 's'.repeat(40) },
    });
    const s = await awsSettingsFor(io, mergeConfig(layer({ profile: 'dev' })));
    t.equal(s.profile, 'dev');
    t.equal(s.credentials, undefined, 'left to the SDK chain for the profile');
    const none = await awsSettingsFor(new CapturedIo({ cwd: '/' }), mergeConfig());
    t.equal(none.credentials, undefined);
  },
);

t.test('an unknown profile fails at once, naming the files read and the profiles there', async (t) => {
  const home = t.testdir({ '.aws': { credentials: '[prod]\naws_access_key_id = A\naws_secret_access_key = B\n' } });
  const io = new CapturedIo({ cwd: '/', env: { HOME: home } });
  await t.rejects(awsSettingsFor(io, mergeConfig(layer({ profile: 'prdo' }))), {
    code: 'ERR_AWS_UNKNOWN_PROFILE',
    message:
      /AWS profile "prdo" is not in the AWS config files read: .*\/\.aws\/config \(missing\), .*\/\.aws\/credentials; profiles there: prod/,
  });
});

t.test('proxy, region source and the API deadline reach the AWS settings', async (t) => {
  const io = new CapturedIo({ cwd: '/', env: {} });
  const s = await awsSettingsFor(
    io,
    mergeConfig(layer({ region: 'eu-west-1', proxy: 'http://proxy.corp:3128' }), {
      ...layer({}),
      defaults: { timeoutMs: 4000 },
    }),
  );
  t.equal(s.proxy, 'http://proxy.corp:3128');
  t.equal(s.timeoutMs, 4000);
  t.equal(s.region, 'eu-west-1');
});
