/**
 * `main([...], capturedIo)` against an emulator started in this process: forwards, `run`,
 * `--json`, the emulator and demo commands, exit statuses, and no secrets in any output.
 */
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { main } from '../../src/cli/main.js';
import { CapturedIo } from './capture-io.js';
import { emulatorAwsEnv } from '../helpers/emulator.js';
import { startEchoServer } from '../helpers/loopback.js';
import { roundTrip } from '../helpers/round-trip.js';

// The SDK's Node 20 end-of-support notice is noise in test output.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const INSTANCE = 'i-0123456789abcdef0';
const SECRET_MARK = 'SECRETMARKERxyzzy0123456789abcdefghijklmn';
const TOKEN_MARK = 'SESSIONTOKENMARKERplugh9876543210';

async function emulator(t: Test): Promise<Emulator> {
  const emu = await startEmulator({
    credentials: { accessKeyId: 'AKIAEMULATORTEST0001', secretAccessKey: SECRET_MARK },
    pacing: 'none',
  });
  t.teardown(() => emu.close());
  return emu;
}

function envFor(emu: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  return emulatorAwsEnv(emu, extra);
}

t.test(
  'tunnel TARGET:PORT:auto forwards bytes, stops on SIGINT with status 0 and terminates the session',
  async (t) => {
    const emu = await emulator(t);
    const port = (await startEchoServer(t)).port;
    const io = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
    const done = main([`demo:${port}:auto`, '--no-user-config'], io);
    const m = await io.stdout.waitFor(/^demo\s+127\.0\.0\.1:(\d+) .*-> i-0123456789abcdef0 localhost:(\d+)/m, done);
    const localPort = Number(m[1]);
    t.equal(Number(m[2]), port);
    const payload = Buffer.from('hello through the tunnel '.repeat(100));
    t.same(await roundTrip(localPort, payload), payload, 'echoed through the emulated agent');
    t.equal(io.signal('SIGINT'), 1, 'one SIGINT handler was installed');
    t.equal(await done, 0);
    const terminated = emu.state.calls.filter((c) => c.operation === 'TerminateSession' && c.errorCode === undefined);
    t.equal(terminated.length, 1, 'TerminateSession recorded');
    t.match(io.stderr.text, /interrupted: stopping forwards/);
    // The listener is gone.
    const s = connect({ host: '127.0.0.1', port: localPort });
    const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
    t.equal(err.code, 'ECONNREFUSED');
  },
);

t.test('--json prints only events, each line one JSON object, with the CLI ready event', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const io = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu, { AWS_SESSION_TOKEN: TOKEN_MARK }) });
  const done = main([`${INSTANCE}:${port}:auto`, '--json', '--no-user-config'], io);
  const m = await io.stdout.waitFor(/"type":"ready".*"port":(\d+)/, done);
  t.same(await roundTrip(Number(m[1]), Buffer.from('x')), Buffer.from('x'));
  await io.stdout.waitFor(/"type":"connection-closed"/, done);
  io.signal('SIGTERM');
  t.equal(await done, 0);
  const events = io.stdout.lines().map((l) => JSON.parse(l) as { type: string; time: string });
  t.ok(events.length >= 6);
  for (const e of events) t.match(e, { type: String, time: /^\d{4}-\d\d-\d\dT/ });
  const types = events.map((e) => e.type);
  for (const want of [
    'forward-state',
    'listening',
    'session-started',
    'ready',
    'connection-opened',
    'connection-closed',
  ])
    t.ok(types.includes(want), `has ${want}`);
  t.notMatch(io.stdout.text + io.stderr.text, SECRET_MARK);
  t.notMatch(io.stdout.text + io.stderr.text, TOKEN_MARK);
});

t.test('secrets from the environment never appear with --verbose, even in errors', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const env = envFor(emu, { AWS_SESSION_TOKEN: TOKEN_MARK });
  const io = new CapturedIo({ cwd: t.testdir({}), env });
  const done = main([`demo:${port}:auto`, '--verbose', '--no-user-config'], io);
  const m = await io.stdout.waitFor(/^demo\s+127\.0\.0\.1:(\d+)/m, done);
  await roundTrip(Number(m[1]), Buffer.from('ping'));
  io.signal('SIGINT');
  t.equal(await done, 0);
  t.match(io.stdout.text + io.stderr.text, /session .* started/, 'verbose output was produced');
  // A failing run whose messages include the credentials' surroundings.
  const bad = new CapturedIo({ cwd: t.testdir({}), env: { ...env, AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1' } });
  const code = await main([`demo:${port}`, '--verbose', '--no-user-config'], bad);
  t.equal(code, 77, 'rejected credentials map to EX_NOPERM');
  for (const text of [io.stdout.text, io.stderr.text, bad.stdout.text, bad.stderr.text]) {
    t.notMatch(text, SECRET_MARK);
    t.notMatch(text, TOKEN_MARK);
  }
});

t.test('exit statuses: target not found 69, not connected 69, port in use 75', async (t) => {
  const emu = await emulator(t);
  const env = envFor(emu);
  const notFound = new CapturedIo({ cwd: t.testdir({}), env });
  t.equal(await main(['no-such-name:5432', '--no-user-config'], notFound), 69);
  t.match(notFound.stderr.text, /ERR_TUNNEL_TARGET_NOT_FOUND[\s\S]*hint: run `tunnel targets`/);
  emu.setInstancePingStatus(INSTANCE, 'ConnectionLost');
  const offline = new CapturedIo({ cwd: t.testdir({}), env });
  t.equal(await main([`${INSTANCE}:5432:auto`, '--no-user-config', '--timeout', '20'], offline), 69);
  t.match(offline.stderr.text, /ERR_AWS_TARGET_NOT_CONNECTED/);
  emu.setInstancePingStatus(INSTANCE, 'Online');
  const busy = createServer();
  busy.listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.teardown(() => new Promise<void>((r) => busy.close(() => r())));
  const busyPort = (busy.address() as AddressInfo).port;
  const inUse = new CapturedIo({ cwd: t.testdir({}), env });
  t.equal(await main([`demo:5432:${busyPort}`, '--no-user-config', '--bind', '127.0.0.1'], inUse), 75);
  t.match(inUse.stderr.text, /ERR_TUNNEL_PORT_IN_USE/);
});

t.test('run: environment, placeholders, no shell, the child status is ours, forwards torn down', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const dir = t.testdir({
    '.tunnel.yaml': `forwards:\n  echo-svc: { target: ${INSTANCE}, remotePort: ${port}, localPort: auto }\n`,
  });
  const io = new CapturedIo({ cwd: dir, env: envFor(emu) });
  const script = [
    "const net = require('node:net');",
    'const out = { host: process.env.TUNNEL_ECHO_SVC_HOST, port: process.env.TUNNEL_ECHO_SVC_PORT, addr: process.env.TUNNEL_ECHO_SVC_ADDR, argv: process.argv.slice(1) };',
    // No half-close: a FIN would end the agent's connection before the echo comes back.
    'const s = net.connect(Number(out.port), out.host, () => s.write("via-run"));',
    'let got = ""; s.on("data", (d) => { got += d; if (got.length >= 7) { out.echo = got; console.log(JSON.stringify(out)); process.exit(7); } });',
  ].join('\n');
  const code = await main(
    ['run', '--no-user-config', '--', process.execPath, '-e', script, '{echo-svc.port}', '$HOME;{echo-svc.addr}'],
    io,
  );
  t.equal(code, 7, "tunnel exits with the command's status");
  const line = io.stdout.lines().find((l) => l.startsWith('{'));
  const out = JSON.parse(line ?? '{}') as { host: string; port: string; addr: string; argv: string[]; echo: string };
  t.equal(out.host, '127.0.0.1');
  t.match(out.port, /^\d+$/);
  t.equal(out.addr, `127.0.0.1:${out.port}`);
  t.same(out.argv, [out.port, `$HOME;127.0.0.1:${out.port}`], 'placeholders expanded, nothing interpreted by a shell');
  t.equal(out.echo, 'via-run', 'the forward was up while the command ran');
  t.equal(io.stdout.lines().length, 1, "stdout is the command's alone");
  t.match(io.stderr.text, /^echo-svc\s+127\.0\.0\.1:\d+/m, "tunnel's own lines went to stderr");
  t.equal(
    emu.state.calls.filter((c) => c.operation === 'TerminateSession').length,
    1,
    'session terminated after the command',
  );

  const missing = new CapturedIo({ cwd: dir, env: envFor(emu) });
  t.equal(await main(['run', '--no-user-config', '--', 'no-such-command-tunnel-test'], missing), 127);
  t.match(missing.stderr.text, /command not found/);
  const badPlaceholder = new CapturedIo({ cwd: dir, env: envFor(emu) });
  t.equal(await main(['run', '--no-user-config', '--', process.execPath, '{nope.port}'], badPlaceholder), 2);
});

t.test('tunnel emulator prints export lines first and stops on SIGINT', async (t) => {
  const io = new CapturedIo({ cwd: t.testdir({}) });
  const done = main(['emulator', '--port', '0'], io);
  await io.stderr.waitFor(/Ctrl-C to stop/, done);
  const lines = io.stdout.lines();
  t.match(lines, [
    /^export AWS_ENDPOINT_URL_SSM=http:\/\/127\.0\.0\.1:\d+$/,
    /^export AWS_ACCESS_KEY_ID=\S+$/,
    /^export AWS_SECRET_ACCESS_KEY=\S+$/,
    /^export AWS_REGION=us-east-1$/,
    /^export AWS_ENDPOINT_URL_SSO_OIDC=http:\/\/127\.0\.0\.1:\d+$/,
    /^export AWS_ENDPOINT_URL_SSO=http:\/\/127\.0\.0\.1:\d+$/,
    /^export AWS_ENDPOINT_URL_STS=http:\/\/127\.0\.0\.1:\d+$/,
  ]);
  const endpoint = /=(\S+)$/.exec(lines[0] ?? '')?.[1] ?? '';
  const env: Record<string, string> = {};
  for (const l of lines) {
    const m = /^export (\w+)=(\S+)$/.exec(l);
    if (m?.[1] !== undefined && m[2] !== undefined) env[m[1]] = m[2];
  }
  // The printed settings work: list targets through them.
  const targets = new CapturedIo({ cwd: t.testdir({}), env });
  t.equal(await main(['targets', '--no-user-config'], targets), 0);
  t.match(targets.stdout.text, /i-0123456789abcdef0\s+demo\s+Online\s+3\.3\.4851\.0\s+Amazon Linux/);
  t.ok(endpoint.startsWith('http://127.0.0.1:'));
  // The activity log: the DescribeInstanceInformation call of `targets`, without its body.
  await io.stderr.waitFor(/api DescribeInstanceInformation → ok/, done);
  t.notMatch(io.stderr.text, env['AWS_SECRET_ACCESS_KEY'] ?? 'unset', 'no secret in the log');
  io.signal('SIGINT');
  t.equal(await done, 0);
});

t.test('targets --tag filters; --json gives one object per instance', async (t) => {
  const emu = await startEmulator({
    instances: [
      { instanceId: 'i-0aaaaaaaaaaaaaaa1', name: 'db-1', tags: { Role: 'db' } },
      { instanceId: 'i-0aaaaaaaaaaaaaaa2', name: 'web-1', tags: { Role: 'web' } },
    ],
  });
  t.teardown(() => emu.close());
  const io = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  t.equal(await main(['targets', '--tag', 'Role=db', '--json', '--no-user-config'], io), 0);
  const objs = io.stdout.lines().map((l) => JSON.parse(l) as unknown);
  t.match(objs, [{ type: 'target', instanceId: 'i-0aaaaaaaaaaaaaaa1', nameTag: 'db-1', pingStatus: 'Online' }]);
  t.equal(objs.length, 1);
  t.equal(await main(['targets', '--tag', 'Role'], new CapturedIo({ cwd: t.testdir({}) })), 2);
});

t.test('demo --once runs the self-check and exits 0', async (t) => {
  const io = new CapturedIo({ cwd: t.testdir({}) });
  const code = await main(['demo', '--once', '--bytes', '262144'], io);
  t.equal(code, 0, io.stderr.text);
  for (const c of ['echo', 'http', 'download', 'upload']) t.match(io.stdout.text, new RegExp(`check ${c}\\s+ok`));
  t.match(io.stdout.text, /all checks passed/);
});

t.test('--wait: one failed forward fails the command; without it the others keep running', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const lenient = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  const done = main([`demo:${port}:auto`, 'nosuch:5432:auto', '--no-user-config'], lenient);
  await lenient.stdout.waitFor(/^demo\s+127\.0\.0\.1:\d+/m, done);
  t.match(lenient.stderr.text, /nosuch: failed: .*\[ERR_TUNNEL_TARGET_NOT_FOUND\]/);
  lenient.signal('SIGINT');
  t.equal(await done, 0);
  const strict = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  t.equal(await main([`demo:${port}:auto`, 'nosuch:5432:auto', '--no-user-config', '--wait'], strict), 69);
  t.notMatch(strict.stdout.text, /^demo\s/m, 'nothing reported as up');
});

t.test('--timeout: forwards not ready in time exit 75 (ERR_CLI_TIMEOUT)', async (t) => {
  // An "endpoint" that accepts connections and never answers.
  const held = new Set<Socket>();
  const silent = createServer((s) => held.add(s));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => {
    for (const s of held) s.destroy();
    return new Promise<void>((r) => silent.close(() => r()));
  });
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const io = new CapturedIo({
    cwd: t.testdir({}),
    env: { AWS_ACCESS_KEY_ID: 'AKIAXXXXXXXXXXXXXXXX', AWS_SECRET_ACCESS_KEY: 'x'.repeat(40), AWS_REGION: 'us-east-1' },
  });
  const code = await main(
    [`${INSTANCE}:5432:auto`, '--endpoint', endpoint, '--timeout', '300ms', '--no-user-config'],
    io,
  );
  t.equal(code, 75);
  t.match(io.stderr.text, /not ready within 300 ms: i-0123456789abcdef0 \[ERR_CLI_TIMEOUT\]/);
});

t.test('run passes SIGTERM on to the command and exits with its status', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const io = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  const script =
    "process.on('SIGTERM', () => { console.log('child got SIGTERM'); process.exit(42); }); console.log('child waiting'); setInterval(() => {}, 1000);";
  const done = main(['run', `demo:${port}`, '--no-user-config', '--', process.execPath, '-e', script], io);
  await io.stdout.waitFor(/child waiting/, done);
  io.signal('SIGTERM');
  t.equal(await done, 42);
  t.match(io.stdout.text, /child got SIGTERM/);
  t.equal(emu.state.calls.filter((c) => c.operation === 'TerminateSession').length, 1);
});

t.test('on a terminal: the live table shows the forward, its state and traffic', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const io = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  io.isTTY = true;
  io.stdout.columns = 160;
  const done = main([`demo:${port}:auto`, '--no-user-config'], io);
  const m = await io.stdout.waitFor(/demo\s+127\.0\.0\.1:(\d+) \[::1\]:\d+ -> i-0123456789abcdef0 localhost:\d+/, done);
  t.equal(await roundTrip(Number(m[1]), Buffer.alloc(3000, 1)).then((b) => b.length), 3000);
  // The table is redrawn (cursor up, clear) and eventually shows the connection counted.
  await io.stdout.waitFor(
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is checked
    /\r\x1b\[\d+A\x1b\[J[^\x1b]*demo\s+localhost:\d+\s+localhost:\d+ via i-0123456789abcdef0\s+ready\s+1\s+\d\/1\s+2\.9K\s+2\.9K/,
    done,
  );
  io.signal('SIGINT');
  t.equal(await done, 0);
  t.match(io.stdout.text.slice(-400), /stopped/);
});

t.test('up GROUP from .tunnel.yaml; an implied local port that is busy falls back to a free one', async (t) => {
  const emu = await emulator(t);
  // The echo server itself occupies 127.0.0.1:<port>, the local port `remotePort` implies.
  const port = (await startEchoServer(t)).port;
  const dir = t.testdir({
    '.tunnel.yaml': [
      'defaults: { bind: 127.0.0.1 }',
      'targets:',
      '  box: { name: demo }',
      'forwards:',
      `  svc: { target: box, remotePort: ${port} }`,
      `  other: { target: box, remotePort: ${port}, localPort: auto }`,
      'groups:',
      '  g: [svc]',
    ].join('\n'),
  });
  const io = new CapturedIo({ cwd: dir, env: envFor(emu) });
  const done = main(['up', 'g', '--no-user-config'], io);
  const m = await io.stdout.waitFor(/^svc\s+127\.0\.0\.1:(\d+) -> i-0123456789abcdef0 localhost:(\d+)$/m, done);
  t.not(Number(m[1]), port, 'a different local port');
  t.equal(Number(m[2]), port);
  t.match(io.stderr.text, /svc: preferred local port was busy; listening on 127\.0\.0\.1:\d+/);
  t.notMatch(io.stdout.text, /^other/m, 'only the group was brought up');
  t.same(await roundTrip(Number(m[1]), Buffer.from('fallback')), Buffer.from('fallback'));
  io.signal('SIGINT');
  t.equal(await done, 0);
});

t.test("run --json: stdout is the command's, stderr carries only NDJSON events (also on failure)", async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const io = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  const code = await main(
    [
      'run',
      `demo:${port}`,
      '--json',
      '--no-user-config',
      '--',
      process.execPath,
      '-e',
      'console.log("child says hi"); process.exit(5)',
    ],
    io,
  );
  t.equal(code, 5);
  t.equal(io.stdout.text, 'child says hi\n');
  const events = io.stderr.lines().map((l) => JSON.parse(l) as { type: string; exitCode?: number });
  t.ok(events.some((e) => e.type === 'ready'));
  t.match(
    events.find((e) => e.type === 'command-exit'),
    { exitCode: 5 },
  );
  const failing = new CapturedIo({ cwd: t.testdir({}), env: envFor(emu) });
  t.equal(
    await main(
      ['run', 'nowhere-to-be-found:5432', '--json', '--no-user-config', '--', process.execPath, '-e', ''],
      failing,
    ),
    69,
  );
  t.equal(failing.stdout.text, '');
  const failEvents = failing.stderr.lines().map((l) => JSON.parse(l) as { type: string; code?: string });
  t.match(failEvents[failEvents.length - 1], { type: 'error', code: 'ERR_TUNNEL_TARGET_NOT_FOUND' });
});

t.test('demo without --once stays up after the check until Ctrl-C, then exits 0', async (t) => {
  const io = new CapturedIo({ cwd: t.testdir({}) });
  const done = main(['demo', '--bytes', '65536'], io);
  await io.stdout.waitFor(/all checks passed/, done);
  const tip = await io.stderr.waitFor(/try: curl http:\/\/(127\.0\.0\.1:\d+)\//, done);
  const { request } = await import('node:http');
  const body = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port: Number(tip[1]?.split(':')[1]), path: '/', agent: false }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve(b));
    })
      .on('error', reject)
      .end();
  });
  t.match(body, /hello from the tunnel demo instance/);
  io.signal('SIGINT');
  t.equal(await done, 0);
});

t.test('ls --resolve looks targets up; an unresolvable one sets the status', async (t) => {
  const emu = await emulator(t);
  const dir = t.testdir({
    '.tunnel.yaml':
      'targets:\n  box: { name: demo }\n  gone: { name: nothing-here }\nforwards:\n  a: { target: box, remotePort: 22, localPort: 2222 }\n  b: { target: gone, remotePort: 22, localPort: 2223 }\n',
  });
  const io = new CapturedIo({ cwd: dir, env: envFor(emu) });
  t.equal(await main(['ls', '--resolve', '--no-user-config'], io), 69);
  t.match(io.stdout.text, /^a\s+\S+ :2222\s+Name=demo\s+i-0123456789abcdef0 \(Online\)\s+localhost:22/m);
  t.match(io.stdout.text, /^b\s+\S+ :2223\s+Name=nothing-here\s+! ERR_TUNNEL_TARGET_NOT_FOUND/m);
  t.match(io.stderr.text, /b: no managed node matches Name=nothing-here/);
  const json = new CapturedIo({ cwd: dir, env: envFor(emu) });
  t.equal(await main(['ls', 'a', '--resolve', '--json', '--no-user-config'], json), 0);
  t.match(JSON.parse(json.stdout.lines()[0] ?? '{}') as unknown, {
    forward: 'a',
    resolved: { instanceId: 'i-0123456789abcdef0', pingStatus: 'Online' },
  });
});
