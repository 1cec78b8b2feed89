import t from 'tap';
import { createServer, type AddressInfo } from 'node:net';
import {
  canonicalIp,
  findMapping,
  forbiddenHostText,
  isDeniedIp,
  planDestination,
  type ResolvedDestinationMapping,
} from '../../../src/emulator/agent/destinations.js';
import { isLoopbackName as isLoopbackAddress } from '../../../src/loopback.js';
import { dialFirst, DialFailure } from '../../../src/emulator/agent/dialer.js';
import { DEFAULT_REMOTE_HOST_DENY_LIST } from '../../../src/emulator/options.js';

const deny = [...DEFAULT_REMOTE_HOST_DENY_LIST];
const mappings: ResolvedDestinationMapping[] = [
  { instance: '*', host: 'localhost', port: 80, to: { host: '127.0.0.1', port: 8080 } },
  { instance: 'i-0aaaaaaaaaaaaaaa1', host: 'localhost', port: 80, to: { host: '127.0.0.1', port: 9090 } },
  { instance: '*', host: 'db.internal', port: 5432, to: { host: '127.0.0.1', port: 15432 } },
];

t.test('findMapping prefers the instance over the wildcard', async (t) => {
  t.equal(findMapping(mappings, 'i-0aaaaaaaaaaaaaaa1', 'localhost', 80)?.to.port, 9090);
  t.equal(findMapping(mappings, 'i-0bbbbbbbbbbbbbbb2', 'localhost', 80)?.to.port, 8080);
  t.equal(findMapping(mappings, 'i-0bbbbbbbbbbbbbbb2', '', 80)?.to.port, 8080, "an empty host is 'localhost'");
  t.equal(findMapping(mappings, 'i-0bbbbbbbbbbbbbbb2', 'DB.internal', 5432)?.to.port, 15432, 'host names ignore case');
  t.equal(findMapping(mappings, 'i-0bbbbbbbbbbbbbbb2', 'localhost', 81), undefined);
});

t.test('IP helpers: canonical forms, deny list, loopback', async (t) => {
  t.equal(canonicalIp('FD00:EC2:0:0:0:0:0:254'), 'fd00:ec2::254');
  t.equal(canonicalIp('[::1]'), '::1');
  t.ok(isDeniedIp('169.254.169.254', deny));
  t.ok(isDeniedIp('fd00:ec2:0::254', deny));
  t.ok(isDeniedIp('::ffff:169.254.169.254', deny), 'IPv4-mapped counts as IPv4');
  t.notOk(isDeniedIp('127.0.0.1', deny));
  t.ok(isLoopbackAddress('127.3.4.5'));
  t.ok(isLoopbackAddress('::1'));
  t.ok(isLoopbackAddress('localhost'));
  t.notOk(isLoopbackAddress('10.0.0.1'));
});

t.test('no host: localhost:P is 127.0.0.1:P unless mapped', async (t) => {
  const base = { instanceId: 'i-0bbbbbbbbbbbbbbb2', host: undefined, properties: {}, denyList: deny };
  t.same(await planDestination({ ...base, portNumber: '7777', mappings: [] }), {
    ok: true,
    targets: [{ host: '127.0.0.1', port: 7777 }],
    description: 'localhost:7777',
  });
  t.same(await planDestination({ ...base, portNumber: '80', mappings }), {
    ok: true,
    targets: [{ host: '127.0.0.1', port: 8080 }],
    description: 'localhost:80',
  });
});

t.test('an empty portNumber fails with the agent text', async (t) => {
  const plan = await planDestination({
    instanceId: 'i-0bbbbbbbbbbbbbbb2',
    host: '',
    portNumber: '',
    properties: { portNumber: '' },
    mappings: [],
    denyList: deny,
  });
  t.same(plan, { ok: false, output: 'Port number is empty in session properties. {"portNumber":""}' });
});

t.test('a denied remote host fails with "Forwarding to IP address <host> is forbidden."', async (t) => {
  const plan = await planDestination({
    instanceId: 'i-0bbbbbbbbbbbbbbb2',
    host: '169.254.169.254',
    portNumber: '80',
    properties: {},
    mappings: [],
    denyList: deny,
  });
  t.same(plan, { ok: false, output: forbiddenHostText('169.254.169.254') });
  t.equal(forbiddenHostText('169.254.169.254'), 'Forwarding to IP address 169.254.169.254 is forbidden.');
});

t.test('a host name is resolved once and checked against the deny list by address', async (t) => {
  const asked: string[] = [];
  const resolve = async (h: string): Promise<string[]> => {
    asked.push(h);
    return h === 'metadata.example' ? ['10.1.1.1', '169.254.169.254'] : ['127.0.0.1', '::1'];
  };
  const base = {
    instanceId: 'i-0bbbbbbbbbbbbbbb2',
    portNumber: '7777',
    properties: {},
    mappings: [],
    denyList: deny,
    resolve,
  };
  t.same(await planDestination({ ...base, host: 'metadata.example' }), {
    ok: false,
    output: 'Forwarding to IP address metadata.example is forbidden.',
  });
  t.same(await planDestination({ ...base, host: 'loop.example' }), {
    ok: true,
    targets: [
      { host: '127.0.0.1', port: 7777 },
      { host: '::1', port: 7777 },
    ],
    description: 'loop.example:7777',
  });
  t.same(asked, ['metadata.example', 'loop.example']);
  const failing = await planDestination({
    ...base,
    host: 'nx.example',
    resolve: async () => Promise.reject(new Error('ENOTFOUND')),
  });
  t.same(failing, { ok: false, output: 'lookup nx.example: no such host' });
});

t.test('a mapped host needs no DNS', async (t) => {
  const plan = await planDestination({
    instanceId: 'i-0bbbbbbbbbbbbbbb2',
    host: 'db.internal',
    portNumber: '5432',
    properties: {},
    mappings,
    denyList: deny,
    resolve: async () => Promise.reject(new Error('must not resolve')),
  });
  t.same(plan, { ok: true, targets: [{ host: '127.0.0.1', port: 15432 }], description: 'db.internal:5432' });
});

t.test('dialFirst: first success wins, the first failure is reported, non-loopback is refused', async (t) => {
  const server = createServer((s) => {
    s.on('error', () => s.destroy());
    s.end('hi');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  // A port that was just free: bind and close to get one nobody listens on.
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  const closedPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));

  const sock = await dialFirst([
    { host: '127.0.0.1', port: closedPort },
    { host: '127.0.0.1', port },
  ]);
  sock.destroy();
  t.pass('fell through to the listening port');

  const err = await dialFirst([{ host: '127.0.0.1', port: closedPort }]).catch((e: unknown) => e);
  t.ok(err instanceof DialFailure);
  t.equal((err as DialFailure).text, `dial tcp 127.0.0.1:${closedPort}: connect: connection refused`);

  const far = await dialFirst([{ host: '10.255.255.1', port: 80 }]).catch((e: unknown) => e);
  t.match((far as DialFailure).text, /^dial tcp 10\.255\.255\.1:80: connect: network is unreachable/);
});

t.test('names under .invalid fail at once without asking DNS (RFC 6761)', async (t) => {
  const { defaultResolve } = await import('../../../src/emulator/agent/destinations.js');
  for (const h of ['nosuchhost.invalid', 'a.b.INVALID', 'x.invalid.']) {
    await t.rejects(defaultResolve(h), /no such host/, h);
  }
  t.same(await defaultResolve('127.0.0.1'), ['127.0.0.1'], 'other names still resolve');
});
