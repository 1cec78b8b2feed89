/**
 * The built CLI as a subprocess (`node dist/bin/tunnel.js`, built by `npm run build` before tap)
 * against an emulator started in this test process.
 */
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { emulatorAwsEnv } from '../helpers/emulator.js';
import { BIN, tunnel } from '../helpers/cli-proc.js';
import { startEchoServer } from '../helpers/loopback.js';

const SECRET_MARK = 'SECRETMARKERbinxyzzy0123456789abcdefghij';
const TOKEN_MARK = 'SESSIONTOKENMARKERbinplugh9876543210';

async function emulator(t: Test): Promise<Emulator> {
  const emu = await startEmulator({
    credentials: { accessKeyId: 'AKIABINTEST000000001', secretAccessKey: SECRET_MARK },
    pacing: 'none',
  });
  t.teardown(() => emu.close());
  return emu;
}

function emuEnv(emu: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  return emulatorAwsEnv(emu, extra);
}

async function echoThrough(port: number, text: string): Promise<string> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  s.write(text);
  let got = '';
  for (let i = 0; i < 10_000 && got.length < text.length; i++) {
    const [d] = (await once(s, 'data')) as [Buffer];
    got += d.toString();
  }
  s.destroy();
  return got;
}

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does) before these tests`);
});

t.test('tunnel db:PORT-style SPEC: real socket through it, SIGINT, exit 0, TerminateSession recorded', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const p = tunnel(t, [`demo:${port}:auto`], { cwd: t.testdir({}), env: emuEnv(emu) });
  const m = await p.waitOut(/^demo\s+127\.0\.0\.1:(\d+) \[::1\]:\d+ -> i-0123456789abcdef0 localhost:\d+$/m);
  t.equal(await echoThrough(Number(m[1]), 'through the built cli'), 'through the built cli');
  p.child.kill('SIGINT');
  const { code } = await p.exit;
  t.equal(code, 0, p.stderr());
  t.equal(
    emu.state.calls.filter((c) => c.operation === 'TerminateSession' && c.errorCode === undefined).length,
    1,
    'TerminateSession recorded',
  );
  t.equal([...emu.state.sessions.values()].filter((s) => s.status !== 'terminated').length, 0, 'no session left open');
});

t.test('--json: stdout is NDJSON, every line parses', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const p = tunnel(t, [`i-0123456789abcdef0:${port}:auto`, '--json'], { cwd: t.testdir({}), env: emuEnv(emu) });
  const m = await p.waitOut(/"type":"ready".*?"port":(\d+)/);
  t.equal(await echoThrough(Number(m[1]), 'json'), 'json');
  await p.waitOut(/"type":"connection-closed"/);
  p.child.kill('SIGTERM');
  t.equal((await p.exit).code, 0);
  const lines = p
    .stdout()
    .split('\n')
    .filter((l) => l !== '');
  t.ok(lines.length > 5);
  for (const l of lines) {
    const e = JSON.parse(l) as { type?: unknown; time?: unknown };
    t.equal(typeof e.type, 'string');
    t.equal(typeof e.time, 'string');
  }
});

t.test('run: TUNNEL_<NAME>_* in the environment, {name.port} in arguments, exit status propagated', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const script =
    'console.log(JSON.stringify({ env: [process.env.TUNNEL_DEMO_HOST, process.env.TUNNEL_DEMO_PORT, process.env.TUNNEL_DEMO_ADDR], argv: process.argv.slice(1) })); process.exit(3)';
  const p = tunnel(
    t,
    ['run', `demo:${port}`, '--', process.execPath, '-e', script, '--', '--port={demo.port}', '{demo.host}', '`id`'],
    { cwd: t.testdir({}), env: emuEnv(emu) },
  );
  const { code } = await p.exit;
  t.equal(code, 3, p.stderr());
  const outLines = p
    .stdout()
    .split('\n')
    .filter((l) => l !== '');
  t.equal(outLines.length, 1, "stdout carries only the command's output");
  const line = outLines.find((l) => l.startsWith('{"env"'));
  const out = JSON.parse(line ?? '{}') as { env: string[]; argv: string[] };
  const [host, localPort, addr] = out.env;
  t.equal(host, '127.0.0.1');
  t.equal(addr, `127.0.0.1:${localPort ?? ''}`);
  t.same(out.argv, [`--port=${localPort ?? ''}`, '127.0.0.1', '`id`'], 'no shell: backquotes arrive as typed');
  t.equal(emu.state.calls.filter((c) => c.operation === 'TerminateSession').length, 1);
});

t.test('config errors: exit 78 with file:line:column and hints', async (t) => {
  const dir = t.testdir({
    '.tunnel.yaml':
      'forwards:\n  db:\n    target: i-0123456789abcdef0\n    remotePort: 5432\n    localPort: 0\n    lazzy: true\n',
  });
  const p = tunnel(t, ['up'], { cwd: dir });
  const { code } = await p.exit;
  t.equal(code, 78);
  t.match(p.stderr(), /\.tunnel\.yaml:5:16: forwards\.db\.localPort: local port 0 is not allowed/);
  t.match(p.stderr(), /\.tunnel\.yaml:6:5: forwards\.db\.lazzy: unknown key "lazzy" \(did you mean "lazy"\?\)/);
});

t.test('secrets in the environment never reach stdout/stderr with --verbose or --json', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  for (const mode of ['--verbose', '--json']) {
    const p = tunnel(t, [`demo:${port}:auto`, mode], {
      cwd: t.testdir({}),
      env: emuEnv(emu, { AWS_SESSION_TOKEN: TOKEN_MARK }),
    });
    const m = await p.waitOut(mode === '--json' ? /"type":"ready".*?"port":(\d+)/ : /^demo\s+127\.0\.0\.1:(\d+)/m);
    t.equal(await echoThrough(Number(m[1]), 'secret?'), 'secret?');
    p.child.kill('SIGINT');
    t.equal((await p.exit).code, 0);
    const all = p.stdout() + p.stderr();
    t.ok(all.length > 200, `${mode} printed something`);
    t.notOk(all.includes(SECRET_MARK), `${mode}: no secret key`);
    t.notOk(all.includes(TOKEN_MARK), `${mode}: no session token`);
  }
});

t.test('tunnel demo --once exits 0 within seconds', async (t) => {
  const p = tunnel(t, ['demo', '--once'], { cwd: t.testdir({}) });
  const { code } = await p.exit;
  t.equal(code, 0, p.stderr());
  t.match(p.stdout(), /all checks passed/);
});

t.test('tunnel emulator: export lines first; a second tunnel uses them; SIGTERM stops it with 0', async (t) => {
  const dir = t.testdir({});
  const emu = tunnel(t, ['emulator'], { cwd: dir });
  const m = await emu.waitOut(/export AWS_ENDPOINT_URL_ECS=\S+\n/);
  t.ok(m);
  const lines = emu
    .stdout()
    .split('\n')
    .filter((l) => l !== '');
  t.match(lines.slice(0, 4), [
    /^export AWS_ENDPOINT_URL_SSM=http:\/\/127\.0\.0\.1:\d+$/,
    /^export AWS_ACCESS_KEY_ID=/,
    /^export AWS_SECRET_ACCESS_KEY=/,
    /^export AWS_REGION=/,
  ]);
  // Issues #15 and #19: the standard endpoint overrides of the other emulated services (the same endpoint).
  const endpoint = lines[0]?.slice('export AWS_ENDPOINT_URL_SSM='.length) ?? '';
  t.same(
    lines.slice(4, 10),
    ['SSO_OIDC', 'SSO', 'STS', 'RDS', 'ELASTICACHE', 'ECS'].map((s) => `export AWS_ENDPOINT_URL_${s}=${endpoint}`),
  );
  const env: Record<string, string> = {};
  for (const l of lines) {
    const kv = /^export (\w+)=(\S+)$/.exec(l);
    if (kv?.[1] !== undefined && kv[2] !== undefined) env[kv[1]] = kv[2];
  }
  const port = (await startEchoServer(t)).port;
  const client = tunnel(t, [`demo:${port}:auto`], { cwd: dir, env });
  const up = await client.waitOut(/^demo\s+127\.0\.0\.1:(\d+)/m);
  t.equal(await echoThrough(Number(up[1]), 'via printed env'), 'via printed env');
  client.child.kill('SIGINT');
  t.equal((await client.exit).code, 0);
  emu.child.kill('SIGTERM');
  t.equal((await emu.exit).code, 0);
  t.notOk(
    client.stdout().includes(env['AWS_SECRET_ACCESS_KEY'] ?? '\u0000') ||
      client.stderr().includes(env['AWS_SECRET_ACCESS_KEY'] ?? '\u0000'),
    'the client never prints the secret it was given',
  );
});
