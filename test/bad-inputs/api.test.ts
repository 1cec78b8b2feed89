/**
 * API responses that are huge, endless, not JSON or of the wrong shape: the real SDK client
 * (`createSsmApi`) against a loopback HTTP server that answers what each case needs. Every case
 * must end in a typed error naming what is wrong, with bounded memory.
 */
import t from 'tap';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSsmApi } from '../../src/aws/ssm-api.js';
import { MAX_API_RESPONSE_BYTES } from '../../src/aws/response-cap.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(
  t: { teardown(fn: () => void): void },
  answer: Answer,
): Promise<{ endpoint: string; sent: () => number }> {
  let sent = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => answer(req, res));
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer | string, ...rest: never[]) => {
      sent += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent: () => sent };
}

function api(endpoint: string) {
  return createSsmApi({
    endpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
  });
}

const json =
  (body: unknown): Answer =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };

t.test('api-response-too-large: an endless body is cut at the cap', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const { endpoint, sent } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    // Endless: write whenever the socket drains, until the client goes away.
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    res.once('close', () => res.removeAllListeners('drain'));
    pump();
  });
  await t.rejects(api(endpoint).describeInstances([]), {
    code: 'ERR_AWS_RESPONSE_TOO_LARGE',
    message: /DescribeInstanceInformation: the response is larger than 2097152 bytes/,
  });
  t.ok(sent() < MAX_API_RESPONSE_BYTES * 8, `the server could send only ${sent()} bytes before the client stopped`);
});

t.test('api-response-too-large: Content-Length over the cap fails before reading', async (t) => {
  const { endpoint } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(MAX_API_RESPONSE_BYTES * 4) });
    res.write(Buffer.alloc(1024));
  });
  await t.rejects(api(endpoint).startSession({ target: 'i-0123456789abcdef0', documentName: 'x', parameters: {} }), {
    code: 'ERR_AWS_RESPONSE_TOO_LARGE',
  });
});

t.test('api-bad-json: a body that is not JSON', async (t) => {
  const { endpoint } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end('<html>proxy login</html>');
  });
  const err = await api(endpoint)
    .describeInstances([])
    .catch((e: unknown) => e);
  t.match(err, { code: 'ERR_AWS_BAD_RESPONSE', message: /not valid JSON/ });
  t.notMatch((err as Error).message, /\$response|hidden field/, 'no SDK internals');
});

t.test('api-wrong-type: fields of the wrong type are named', async (t) => {
  const cases: Array<[string, unknown, (a: ReturnType<typeof api>) => Promise<unknown>, RegExp]> = [
    [
      'StreamUrl: {}',
      { SessionId: 's-1', StreamUrl: {}, TokenValue: 'tok' },
      (a) => a.startSession({ target: 'i-0123456789abcdef0', documentName: 'x', parameters: {} }),
      /StartSession: the response's StreamUrl is a mapping, expected text/,
    ],
    [
      'InstanceInformationList: {}',
      { InstanceInformationList: { a: 1 } },
      (a) => a.describeInstances([]),
      /InstanceInformationList is a mapping, expected a list/,
    ],
    [
      'InstanceInformationList: null',
      { InstanceInformationList: [null] },
      (a) => a.describeInstances([]),
      /InstanceInformationList\[0\] is null, expected a mapping/,
    ],
    [
      'PingStatus: 5',
      { InstanceInformationList: [{ InstanceId: 'i-0123456789abcdef0', PingStatus: 5 }] },
      (a) => a.describeInstances([]),
      /InstanceInformationList\[0\]\.PingStatus is a number, expected text/,
    ],
    [
      'TagList: "x"',
      { TagList: 'x' },
      (a) => a.listTags('i-0123456789abcdef0'),
      /TagList is a string, expected a list/,
    ],
  ];
  for (const [what, body, call, message] of cases) {
    const { endpoint } = await serve(t, json(body));
    const err = await call(api(endpoint)).catch((e: unknown) => e);
    t.match(err, { code: 'ERR_AWS_BAD_RESPONSE', message }, what);
    t.notMatch(String((err as Error).message), /insecure|not iterable|Cannot read/, `${what}: no internals`);
  }
});
