/** aws/kms: endpoint rules, GenerateDataKey against the emulator's KMS (SigV4), error mapping. */
import t from 'tap';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { createKmsApi, mapKmsError, resolveKmsEndpoint } from '../../src/aws/kms.js';
import { unwrapDataKey } from '../../src/emulator/api/kms-api.js';
import { AwsError } from '../../src/errors.js';
import { startApiServer } from '../helpers/emulator-api-server.js';

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const INSTANCE = 'i-0123456789abcdef0';
const context = { 'aws:ssm:SessionId': 's-kms-1', 'aws:ssm:TargetId': INSTANCE };

t.test('endpoint: AWS_ENDPOINT_URL_KMS first, else a loopback SSM endpoint, else the SDK default', async (t) => {
  t.equal(resolveKmsEndpoint({ env: { AWS_ENDPOINT_URL_KMS: 'https://kms.example.com' } }), 'https://kms.example.com');
  t.equal(
    resolveKmsEndpoint({ endpoint: 'http://127.0.0.1:9', env: { AWS_ENDPOINT_URL_KMS: 'http://[::1]:4566' } }),
    'http://[::1]:4566',
    'the KMS variable wins over the SSM endpoint',
  );
  t.equal(
    resolveKmsEndpoint({ endpoint: 'http://127.0.0.1:4000', env: {} }),
    'http://127.0.0.1:4000',
    'the emulator serves KMS on its SSM endpoint',
  );
  t.equal(
    resolveKmsEndpoint({ env: { AWS_ENDPOINT_URL_SSM: 'http://localhost:4001' } }),
    'http://localhost:4001',
    'also when the SSM endpoint comes from the environment',
  );
  t.equal(
    resolveKmsEndpoint({ endpoint: 'https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com', env: {} }),
    undefined,
    'a remote SSM endpoint is not a KMS endpoint',
  );
  t.equal(resolveKmsEndpoint({ env: {} }), undefined);
  t.equal(resolveKmsEndpoint({ env: { AWS_ENDPOINT_URL_KMS: '' } }), undefined, 'empty = unset');
});

t.test('endpoint: plain http off loopback, bad URLs and other schemes are refused', async (t) => {
  t.throws(() => resolveKmsEndpoint({ env: { AWS_ENDPOINT_URL_KMS: 'http://kms.internal:8080' } }), {
    code: 'ERR_AWS_INSECURE_ENDPOINT',
    message: /KMS endpoint kms\.internal:8080/,
  });
  t.equal(
    resolveKmsEndpoint({ allowInsecureEndpoint: true, env: { AWS_ENDPOINT_URL_KMS: 'http://kms.internal:80' } }),
    'http://kms.internal:80',
  );
  t.throws(() => resolveKmsEndpoint({ env: { AWS_ENDPOINT_URL_KMS: 'not a url' } }), {
    code: 'ERR_AWS_API',
    message: /not a valid URL/,
  });
  t.throws(() => resolveKmsEndpoint({ env: { AWS_ENDPOINT_URL_KMS: 'ftp://kms.example.com' } }), {
    code: 'ERR_AWS_API',
    message: /https/,
  });
  t.throws(
    () => createKmsApi({ env: { AWS_ENDPOINT_URL_KMS: 'http://10.0.0.1' } }),
    { code: 'ERR_AWS_INSECURE_ENDPOINT' },
    'at creation',
  );
});

t.test('GenerateDataKey through the SDK: 64 bytes, the blob opens with the same encryption context only', async (t) => {
  const api = await startApiServer(t, { instances: [{ instanceId: INSTANCE, kmsKeyId: KEY }] });
  const kms = createKmsApi({
    endpoint: api.endpoint,
    region: api.region,
    credentials: async () => ({ ...api.credentials }),
    env: {},
    maxAttempts: 1,
  });
  const dk = await kms.generateDataKey({ keyId: KEY, numberOfBytes: 64, encryptionContext: context });
  t.equal(dk.plaintext.length, 64);
  t.equal(dk.keyArn, `arn:aws:kms:${api.region}:123456789012:key/${KEY}`);
  t.same(
    unwrapDataKey(api.state, dk.ciphertextBlob, context).plaintext,
    dk.plaintext,
    'the agent side unwraps the same key',
  );
  t.throws(
    () => unwrapDataKey(api.state, dk.ciphertextBlob, { ...context, 'aws:ssm:SessionId': 's-other' }),
    /ciphertext/i,
    'another session id does not open it',
  );
  t.same(
    api.state.calls.map((c) => c.operation),
    ['kms:GenerateDataKey'],
    'one signed call to the KMS target',
  );
});

t.test('errors: KMS refusals are ERR_AWS_KMS; access, credentials and network keep their codes', async (t) => {
  const api = await startApiServer(t, {
    instances: [{ instanceId: INSTANCE, kmsKeyId: KEY }],
    accessDeny: [{ action: 'kms:GenerateDataKey', resource: `arn:aws:kms:us-east-1:123456789012:key/${KEY}` }],
  });
  const base = { endpoint: api.endpoint, region: api.region, env: {}, maxAttempts: 1 };
  const kms = createKmsApi({ ...base, credentials: async () => ({ ...api.credentials }) });
  const unknown = await kms
    .generateDataKey({ keyId: 'no-such-key', numberOfBytes: 64, encryptionContext: context })
    .catch((e: unknown) => e);
  t.ok(unknown instanceof AwsError);
  t.match(unknown, {
    code: 'ERR_AWS_KMS',
    details: { awsCode: 'NotFoundException', operation: 'GenerateDataKey' },
    message: /no-such-key/,
  });
  const denied = await kms
    .generateDataKey({ keyId: KEY, numberOfBytes: 64, encryptionContext: context })
    .catch((e: unknown) => e);
  t.match(denied, { code: 'ERR_AWS_ACCESS_DENIED' });
  const badCreds = createKmsApi({
    ...base,
    credentials: async () => ({ accessKeyId: 'AKIAWRONG', secretAccessKey: 'nope' }),
  });
  t.match(
    await badCreds
      .generateDataKey({ keyId: KEY, numberOfBytes: 64, encryptionContext: context })
      .catch((e: unknown) => e),
    { code: 'ERR_AWS_CREDENTIALS' },
  );

  // A port nothing listens on.
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const addr = probe.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  probe.close();
  await once(probe, 'close');
  const gone = createKmsApi({
    ...base,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: async () => ({ ...api.credentials }),
  });
  t.match(
    await gone.generateDataKey({ keyId: KEY, numberOfBytes: 64, encryptionContext: context }).catch((e: unknown) => e),
    {
      code: 'ERR_AWS_ENDPOINT_UNREACHABLE',
      message: /KMS endpoint/,
    },
  );
});

t.test('mapKmsError: validation and unknown service errors become ERR_AWS_KMS, throttling stays', async (t) => {
  const e = (name: string): Error & { $metadata: { httpStatusCode: number } } =>
    Object.assign(new Error(`${name} text`), { name, $metadata: { httpStatusCode: 400 } });
  t.match(mapKmsError(e('DisabledException'), 'GenerateDataKey'), {
    code: 'ERR_AWS_KMS',
    message: /DisabledException text/,
  });
  t.match(mapKmsError(e('ValidationException'), 'GenerateDataKey'), { code: 'ERR_AWS_KMS' });
  t.match(mapKmsError(e('ThrottlingException'), 'GenerateDataKey'), { code: 'ERR_AWS_THROTTLED' });
  t.match(mapKmsError(e('ExpiredTokenException'), 'GenerateDataKey'), { code: 'ERR_AWS_EXPIRED_TOKEN' });
});
