import t from 'tap';
import { resolveSsmEndpoint } from '../../src/aws/settings.js';
import { isLoopbackName as isLoopbackHost } from '../../src/loopback.js';
import { createSsmApi } from '../../src/aws/ssm-api.js';
import { isTunnelError } from '../../src/errors.js';

t.test('loopback hosts', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
    t.ok(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1', 'example.com', '128.0.0.1', '::2', 'localhost.evil.com']) t.notOk(isLoopbackHost(h), h);
});

t.test('explicit endpoint wins over AWS_ENDPOINT_URL_SSM', async (t) => {
  t.equal(
    resolveSsmEndpoint({ endpoint: 'https://a.example', env: { AWS_ENDPOINT_URL_SSM: 'https://b.example' } }),
    'https://a.example',
  );
  t.equal(resolveSsmEndpoint({ env: { AWS_ENDPOINT_URL_SSM: 'https://b.example' } }), 'https://b.example');
  t.equal(resolveSsmEndpoint({ env: {} }), undefined);
});

t.test('plain http is allowed to loopback only', async (t) => {
  t.equal(resolveSsmEndpoint({ endpoint: 'http://127.0.0.1:4566', env: {} }), 'http://127.0.0.1:4566');
  t.equal(resolveSsmEndpoint({ endpoint: 'http://[::1]:4566', env: {} }), 'http://[::1]:4566');
  const err = (() => {
    try {
      resolveSsmEndpoint({ endpoint: 'http://ssm.example.com', env: {} });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(isTunnelError(err, 'ERR_AWS_INSECURE_ENDPOINT'));
  t.equal(
    resolveSsmEndpoint({ endpoint: 'http://ssm.example.com', allowInsecureEndpoint: true, env: {} }),
    'http://ssm.example.com',
  );
});

t.test('AWS_ENDPOINT_URL_SSM gets the same check, and createSsmApi refuses at once', async (t) => {
  t.throws(() => createSsmApi({ region: 'us-east-1', env: { AWS_ENDPOINT_URL_SSM: 'http://10.1.2.3:80' } }), {
    code: 'ERR_AWS_INSECURE_ENDPOINT',
  });
  t.throws(() => resolveSsmEndpoint({ endpoint: 'ftp://x', env: {} }), { code: 'ERR_AWS_API' });
  t.throws(() => resolveSsmEndpoint({ endpoint: 'not a url', env: {} }), { code: 'ERR_AWS_API' });
});
