import t from 'tap';
import { request as httpRequest } from 'node:http';
import { DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, formatAmzDate, parseAmzDate, verifySigV4 } from '../../../src/emulator/sigv4.js';
import { startApiServer, sdkError, type ApiServer } from '../../helpers/emulator-api-server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { __type?: string; message?: string } & Record<string, unknown>;
}

/** A raw POST, optionally signed with the given secret at the given time. */
async function raw(
  api: ApiServer,
  o: { target?: string; body: string; sign?: { secret?: string; service?: string; date?: Date } },
): Promise<RawResponse> {
  const url = new URL(api.endpoint);
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', host: url.host };
  if (o.target !== undefined) headers['x-amz-target'] = o.target;
  if (o.sign) {
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: api.credentials.accessKeyId,
        secretAccessKey: o.sign.secret ?? api.credentials.secretAccessKey,
      },
      region: api.region,
      service: o.sign.service ?? 'ssm',
      sha256: NodeSha256,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers,
        body: o.body,
      }),
      {
        ...(o.sign.date ? { signingDate: o.sign.date } : {}),
      },
    );
    Object.assign(headers, signed.headers);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RawResponse['body'],
        }),
      );
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

t.test('a correctly signed raw request works and carries the awsJson headers', async (t) => {
  const api = await startApiServer(t);
  const res = await raw(api, { target: 'AmazonSSM.DescribeInstanceInformation', body: '{}', sign: {} });
  t.equal(res.status, 200);
  t.equal(res.headers['content-type'], 'application/x-amz-json-1.1');
  t.match(res.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/);
  t.equal((res.body['InstanceInformationList'] as unknown[]).length, 1);
});

t.test('missing authentication', async (t) => {
  const api = await startApiServer(t);
  const res = await raw(api, { target: 'AmazonSSM.DescribeInstanceInformation', body: '{}' });
  t.equal(res.status, 400);
  t.same(res.body, { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  t.match(res.headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/);
  t.equal(api.state.calls.at(-1)?.errorCode, 'MissingAuthenticationTokenException');
  t.equal(api.state.calls.at(-1)?.request, undefined, 'an unauthenticated body is not parsed');
});

t.test('wrong secret key is InvalidSignatureException with AWS text', async (t) => {
  const api = await startApiServer(t);
  const err = await sdkError(
    api
      .ssm({ credentials: { accessKeyId: api.credentials.accessKeyId, secretAccessKey: 'wrong-secret' } })
      .send(new DescribeInstanceInformationCommand({})),
  );
  t.equal(err.name, 'InvalidSignatureException');
  t.equal(
    err.message,
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );
  t.equal(err.status, 400);
});

t.test('a tampered body no longer matches its signature', async (t) => {
  const api = await startApiServer(t);
  const url = new URL(api.endpoint);
  const signer = new SignatureV4({
    credentials: api.credentials,
    region: api.region,
    service: 'ssm',
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      path: '/',
      headers: { host: url.host, 'x-amz-target': 'AmazonSSM.TerminateSession' },
      body: '{"SessionId":"a"}',
    }),
  );
  const h = (k: string): string => String(signed.headers[k]);
  const failure = await verifySigV4(
    {
      method: 'POST',
      url: '/',
      headers: {
        host: url.host,
        'x-amz-target': 'AmazonSSM.TerminateSession',
        'x-amz-date': h('x-amz-date'),
        'x-amz-content-sha256': h('x-amz-content-sha256'),
        authorization: h('authorization'),
      },
      body: Buffer.from('{"SessionId":"b"}'),
    },
    { credentials: api.credentials, region: api.region, service: 'ssm', nowMs: Date.now() },
  );
  t.equal(failure?.code, 'InvalidSignatureException');
  const ok = await verifySigV4(
    {
      method: 'POST',
      url: '/',
      headers: {
        host: url.host,
        'x-amz-target': 'AmazonSSM.TerminateSession',
        'x-amz-date': h('x-amz-date'),
        'x-amz-content-sha256': h('x-amz-content-sha256'),
        authorization: h('authorization'),
      },
      body: Buffer.from('{"SessionId":"a"}'),
    },
    { credentials: api.credentials, region: api.region, service: 'ssm', nowMs: Date.now() },
  );
  t.equal(ok, undefined, 'the untampered request verifies');
  const otherHeader = await verifySigV4(
    {
      method: 'POST',
      url: '/',
      headers: {
        host: url.host,
        'x-amz-target': 'AmazonSSM.StartSession',
        'x-amz-date': h('x-amz-date'),
        'x-amz-content-sha256': h('x-amz-content-sha256'),
        authorization: h('authorization'),
      },
      body: Buffer.from('{"SessionId":"a"}'),
    },
    { credentials: api.credentials, region: api.region, service: 'ssm', nowMs: Date.now() },
  );
  t.equal(otherHeader?.code, 'InvalidSignatureException', 'a changed signed header fails');
});

t.test('unknown access key is UnrecognizedClientException', async (t) => {
  const api = await startApiServer(t);
  const err = await sdkError(
    api
      .ssm({ credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: api.credentials.secretAccessKey } })
      .send(new DescribeInstanceInformationCommand({})),
  );
  t.equal(err.name, 'UnrecognizedClientException');
  t.equal(err.message, 'The security token included in the request is invalid.');
});

t.test('a stale signature is refused; the SDK corrects its clock from the Date header and retries', async (t) => {
  const api = await startApiServer(t);
  const twentyMinutes = 20 * 60_000;
  const err = await sdkError(
    api.ssm({ systemClockOffset: -twentyMinutes }).send(new DescribeInstanceInformationCommand({})),
  );
  t.equal(err.name, 'InvalidSignatureException');
  t.match(
    err.message,
    /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
  );
  const future = await raw(api, {
    target: 'AmazonSSM.DescribeInstanceInformation',
    body: '{}',
    sign: { date: new Date(Date.now() + twentyMinutes) },
  });
  t.equal(future.body.__type, 'InvalidSignatureException');
  t.match(future.body.message, /^Signature not yet current: /);
  // With retries on, the SDK reads the server's Date header, fixes its offset and succeeds.
  const out = await api
    .ssm({ systemClockOffset: -twentyMinutes, maxAttempts: 3 })
    .send(new DescribeInstanceInformationCommand({}));
  t.equal(out.InstanceInformationList?.length, 1);
  t.ok(
    api.state.calls.some(
      (c) => c.errorCode === 'InvalidSignatureException' && c.operation === 'DescribeInstanceInformation',
    ),
  );
});

t.test('the credential scope must name the right service', async (t) => {
  const api = await startApiServer(t);
  const res = await raw(api, { target: 'AmazonSSM.DescribeInstanceInformation', body: '{}', sign: { service: 'kms' } });
  t.equal(res.body.__type, 'InvalidSignatureException');
  t.match(res.body.message, /scoped to correct service: 'ssm'/);
});

t.test('unknown X-Amz-Target and bad JSON', async (t) => {
  const api = await startApiServer(t);
  const unknown = await raw(api, { target: 'AmazonSSM.SendCommand', body: '{}', sign: {} });
  t.equal(unknown.status, 400);
  t.equal(unknown.body.__type, 'UnknownOperationException');
  const none = await raw(api, { body: '{}', sign: {} });
  t.equal(none.body.__type, 'UnknownOperationException');
  const badJson = await raw(api, { target: 'AmazonSSM.StartSession', body: '{"Target":', sign: {} });
  t.equal(badJson.status, 400);
  t.equal(badJson.body.__type, 'SerializationException');
  const notObject = await raw(api, { target: 'AmazonSSM.StartSession', body: '[1]', sign: {} });
  t.equal(notObject.body.__type, 'SerializationException');
  const wrongType = await raw(api, { target: 'AmazonSSM.StartSession', body: '{"Target":5}', sign: {} });
  t.equal(wrongType.body.__type, 'SerializationException');
});

t.test('amz date helpers round-trip', async (t) => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5);
  t.equal(formatAmzDate(ms), '20240102T030405Z');
  t.equal(parseAmzDate('20240102T030405Z')?.getTime(), ms);
  t.equal(parseAmzDate('2024-01-02'), undefined);
});

t.test('malformed Authorization headers are IncompleteSignatureException', async (t) => {
  const policy = {
    credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' },
    region: 'us-east-1',
    service: 'ssm',
    nowMs: Date.now(),
  };
  const base = { method: 'POST', url: '/', body: Buffer.alloc(0) };
  const a = await verifySigV4({ ...base, headers: { authorization: 'Basic abc' } }, policy);
  t.equal(a?.code, 'IncompleteSignatureException');
  const b = await verifySigV4(
    { ...base, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/ssm/aws4_request' } },
    policy,
  );
  t.equal(b?.code, 'IncompleteSignatureException');
  t.match(b?.message, /requires 'Signature' parameter/);
  const c = await verifySigV4(
    {
      ...base,
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00',
      },
    },
    policy,
  );
  t.equal(c?.code, 'IncompleteSignatureException', 'no X-Amz-Date');
});
