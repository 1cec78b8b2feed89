import t from 'tap';
import { mapAwsError } from '../../src/aws/error-map.js';
import { refreshingCredentials } from '../../src/aws/credentials.js';

function sdkError(name: string, message: string, status = 400): Error {
  const e = new Error(message);
  e.name = name;
  Object.assign(e, { $metadata: { httpStatusCode: status }, $fault: 'client' });
  return e;
}

t.test('service errors map to stable codes and keep the service text', async (t) => {
  const cases: Array<[string, string]> = [
    ['AccessDeniedException', 'ERR_AWS_ACCESS_DENIED'],
    ['TargetNotConnected', 'ERR_AWS_TARGET_NOT_CONNECTED'],
    ['InvalidDocument', 'ERR_AWS_INVALID_DOCUMENT'],
    ['InvalidParameters', 'ERR_AWS_INVALID_PARAMETERS'],
    ['UnrecognizedClientException', 'ERR_AWS_CREDENTIALS'],
    ['InvalidSignatureException', 'ERR_AWS_CREDENTIALS'],
    ['ExpiredTokenException', 'ERR_AWS_EXPIRED_TOKEN'],
    ['ExpiredToken', 'ERR_AWS_EXPIRED_TOKEN'],
    ['ThrottlingException', 'ERR_AWS_THROTTLED'],
    ['InternalServerError', 'ERR_AWS_API'],
  ];
  for (const [name, code] of cases) {
    const text = `service says ${name} about i-0123`;
    const e = mapAwsError(sdkError(name, text), 'StartSession');
    t.equal(e.code, code, name);
    t.equal(e.message, text, `${name} keeps the text`);
    t.equal(e.awsCode, name);
    t.equal(e.details['operation'], 'StartSession');
  }
});

t.test('network failures are ERR_AWS_ENDPOINT_UNREACHABLE', async (t) => {
  for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET']) {
    const e = Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });
    const m = mapAwsError(e, 'StartSession');
    t.equal(m.code, 'ERR_AWS_ENDPOINT_UNREACHABLE', code);
    t.match(m.message, code);
  }
  const timeout = new Error('timed out');
  timeout.name = 'TimeoutError';
  t.equal(mapAwsError(timeout, 'X').code, 'ERR_AWS_TIMEOUT');
});

t.test('credential provider failures are ERR_AWS_CREDENTIALS', async (t) => {
  const e = new Error('Could not load credentials from any providers');
  e.name = 'CredentialsProviderError';
  t.equal(mapAwsError(e, 'StartSession').code, 'ERR_AWS_CREDENTIALS');
  t.equal(mapAwsError('weird', 'StartSession').code, 'ERR_AWS_API');
});

t.test('credentials are re-read for every signing, and forced after invalidate()', async (t) => {
  let n = 0;
  const forced: boolean[] = [];
  const rc = refreshingCredentials(async (o) => {
    n++;
    forced.push(o?.forceRefresh === true);
    return { accessKeyId: `AKIA${n}`, secretAccessKey: 's', expiration: new Date(Date.now() + 3_600_000) };
  });
  const a = await rc.provider();
  const b = await rc.provider();
  t.equal(a.accessKeyId, 'AKIA1');
  t.equal(b.accessKeyId, 'AKIA2');
  // Marked due, so the SDK's memoizer never keeps it past one signing.
  t.ok((a.expiration?.getTime() ?? Infinity) <= Date.now());
  rc.invalidate();
  await rc.provider();
  await rc.provider();
  t.same(forced, [false, false, true, false]);
});
