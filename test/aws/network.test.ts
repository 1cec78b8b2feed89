/** src/aws/network.ts (proxy/CA/timeouts in effect, NO_PROXY) and src/aws/data-channel-auth.ts (the signed upgrade). */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bypassesProxy, networkInEffect, resolveNetwork } from '../../src/aws/network.js';
import { isPresignedUrl, signDataChannelUpgrade } from '../../src/aws/data-channel-auth.js';
import { verifySigV4 } from '../../src/emulator/sigv4.js';
import { isTunnelError } from '../../src/errors.js';

t.test('NO_PROXY: names, subdomains, leading dot, IPs, ports, *', async (t) => {
  const list = ['example.com', '.corp.internal', '10.1.2.3', 'localhost:8080', '[::1]'];
  t.ok(bypassesProxy(list, 'example.com', 443));
  t.ok(bypassesProxy(list, 'ssm.example.com', 443), 'a name covers its subdomains');
  t.notOk(bypassesProxy(list, 'badexample.com', 443), 'not a suffix match inside a label');
  t.ok(bypassesProxy(list, 'a.corp.internal', 443));
  t.notOk(bypassesProxy(list, 'corp.internal', 443), '.name: only subdomains');
  t.ok(bypassesProxy(list, '10.1.2.3', 80));
  t.notOk(bypassesProxy(list, '10.1.2.30', 80));
  t.ok(bypassesProxy(list, 'localhost', 8080));
  t.notOk(bypassesProxy(list, 'localhost', 8081), 'port must match when given');
  t.ok(bypassesProxy(list, '[::1]', 1), 'IPv6 literal');
  t.notOk(bypassesProxy(list, '127.0.0.1', 1), 'loopback is proxied unless listed (as curl)');
  t.ok(bypassesProxy(['*'], 'anything', 1));
  t.notOk(bypassesProxy([], 'example.com', 443));
});

t.test('settings in effect: sources, precedence, no secrets, timeouts capped by the deadline', async (t) => {
  const env = {
    HTTPS_PROXY: 'http://user:s3cret@proxy.corp:3128',
    http_proxy: 'http://plain.corp:8080',
    no_proxy: 'Example.com, .internal',
    HOME: '/nonexistent',
  };
  const n = await networkInEffect({ env, timeoutMs: 4000 });
  t.same(n.httpsProxy, { url: 'http://***@proxy.corp:3128', source: '$HTTPS_PROXY' }, 'password redacted');
  t.same(n.httpProxy, { url: 'http://plain.corp:8080', source: '$http_proxy' });
  t.same(n.noProxy, ['example.com', '.internal']);
  t.equal(n.callTimeoutMs, 4000);
  t.equal(n.connectTimeoutMs, 4000, 'capped');
  t.equal(n.responseTimeoutMs, 4000, 'capped');
  t.notMatch(JSON.stringify(n), 's3cret');
  const flag = await networkInEffect({ env, proxy: 'http://flag.corp:1', proxySource: '--proxy' });
  t.same(flag.httpsProxy, { url: 'http://flag.corp:1', source: '--proxy' }, '--proxy wins');
  t.same(flag.httpProxy, flag.httpsProxy);
  const plain = await networkInEffect({ env: { HOME: '/nonexistent' } });
  t.equal(plain.httpsProxy, undefined);
  t.equal(plain.callTimeoutMs, 20_000);
  t.equal(plain.connectTimeoutMs, 5_000);
  t.equal(plain.responseTimeoutMs, 10_000);
});

t.test(
  'CA bundles: AWS_CA_BUNDLE, else ca_bundle of the profile, plus NODE_EXTRA_CA_CERTS; bad files fail clearly',
  async (t) => {
    const dir = t.testdir({ '.aws': { config: '[profile work]\nca_bundle = /etc/work-ca.pem\n' } });
    const base = { HOME: dir, AWS_CONFIG_FILE: join(dir, '.aws', 'config') };
    const fromProfile = await networkInEffect({ env: base, profile: 'work' });
    t.same(fromProfile.caBundles, [{ file: '/etc/work-ca.pem', source: 'ca_bundle in the AWS profile' }]);
    const both = await networkInEffect({
      env: { ...base, AWS_CA_BUNDLE: '/a.pem', NODE_EXTRA_CA_CERTS: '/b.pem' },
      profile: 'work',
    });
    t.same(both.caBundles, [
      { file: '/a.pem', source: '$AWS_CA_BUNDLE' },
      { file: '/b.pem', source: '$NODE_EXTRA_CA_CERTS' },
    ]);
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, 'not a certificate\n');
    await t.rejects(resolveNetwork({ env: { ...base, AWS_CA_BUNDLE: empty } }), {
      code: 'ERR_AWS_CA_BUNDLE',
      message: /holds no PEM certificate/,
    });
    await t.rejects(resolveNetwork({ env: { ...base, AWS_CA_BUNDLE: join(dir, 'missing.pem') } }), {
      code: 'ERR_AWS_CA_BUNDLE',
    });
    const bad = await resolveNetwork({ env: base, proxy: 'ftp://x:1' }).catch((e: unknown) => e);
    t.ok(isTunnelError(bad, 'ERR_AWS_PROXY'), String(bad));
  },
);

const CREDS = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'secret/example+key' };
const URL_ =
  'wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/u-0abc?role=publish_subscribe&cell-number=AAE%2BAg%3D%3D';

t.test('the upgrade signature verifies as SigV4 for ssmmessages in the session region', async (t) => {
  const now = new Date('2026-12-02T01:00:00Z');
  const headers = await signDataChannelUpgrade(
    URL_,
    'eu-west-1',
    async () => ({ ...CREDS, sessionToken: 'TOKEN' }),
    now,
  );
  t.same(Object.keys(headers).sort(), ['authorization', 'x-amz-date', 'x-amz-security-token']);
  t.match(
    headers['authorization'],
    /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000001\/20261202\/eu-west-1\/ssmmessages\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
  );
  const u = new URL(URL_);
  const req = {
    method: 'GET',
    url: `${u.pathname}${u.search}`,
    headers: { ...headers, host: u.host },
    body: Buffer.alloc(0),
  };
  const policy = { credentials: CREDS, region: 'eu-west-1', service: 'ssmmessages', nowMs: now.getTime() };
  t.equal(await verifySigV4(req, policy), undefined, 'the emulator verifier accepts it');
  t.match(await verifySigV4(req, { ...policy, region: 'us-east-1' }), { code: 'InvalidSignatureException' });
  const other = { ...req, url: req.url.replace('AAE%2BAg', 'AAE%2BAh') };
  t.match(await verifySigV4(other, policy), { code: 'InvalidSignatureException' }, 'the cell-number is signed');
});

t.test('credentials are resolved at each signing; a presigned StreamUrl is not signed again', async (t) => {
  let n = 0;
  const rotating = async () => ({ accessKeyId: `AKIAROTATING0000000${++n}`, secretAccessKey: 'x' });
  const a = await signDataChannelUpgrade(URL_, 'eu-west-1', rotating);
  const b = await signDataChannelUpgrade(URL_, 'eu-west-1', rotating);
  t.match(a['authorization'], /Credential=AKIAROTATING00000001\//);
  t.match(b['authorization'], /Credential=AKIAROTATING00000002\//);
  for (const p of [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-Expires',
    'X-Amz-SignedHeaders',
    'X-Amz-Signature',
    'X-Amz-Security-Token',
  ]) {
    const presigned = `${URL_}&${p}=x`;
    t.ok(isPresignedUrl(new URL(presigned)), p);
    t.same(await signDataChannelUpgrade(presigned, 'eu-west-1', rotating), {}, `${p}: not signed`);
  }
  t.equal(n, 2, 'no credentials resolved for presigned URLs');
  await t.rejects(
    signDataChannelUpgrade(URL_, 'eu-west-1', async () => {
      throw new Error('no credentials');
    }),
    { code: 'ERR_AWS_CREDENTIALS' },
  );
});
