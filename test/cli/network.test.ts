/**
 * Corporate networks and "nothing hangs" (issue #14), through the built CLI as a subprocess:
 * a REAL proxy (tinyproxy) whose own log proves the API calls and the data-channel websocket went
 * through it with CONNECT; a proxy that refuses CONNECT; a private CA for an HTTPS endpoint (and
 * wss:// data channel) via AWS_CA_BUNDLE or `ca_bundle` in the profile; an endpoint that accepts
 * and never answers; STS failures labelled STS; region context on a target that is not found.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { startEchoServer } from '../helpers/loopback.js';
import { startTinyproxy, tinyproxyAvailable } from '../helpers/tinyproxy.js';
import { makeTestCa, startTlsFront } from '../helpers/tls-front.js';

const BIN = fileURLToPath(new URL('../../dist/bin/tunnel.js', import.meta.url));
const SECRET = 'SECRETMARKERnetworkxyzzy0123456789abcdefg';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tunnel(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd,
        env: { PATH: process.env['PATH'] ?? '', HOME: cwd, AWS_EC2_METADATA_DISABLED: 'true', ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function emulator(t: Test, options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  const emu = await startEmulator({
    credentials: { accessKeyId: 'AKIANETWORKTEST00001', secretAccessKey: SECRET },
    pacing: 'none',
    dataChannelAuth: 'required',
    ...options,
  });
  t.teardown(() => emu.close());
  return emu;
}

function awsEnv(emu: Emulator, endpoint = emu.endpoint): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_SSM: endpoint,
    AWS_REGION: emu.region,
    AWS_ACCESS_KEY_ID: emu.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emu.credentials.secretAccessKey,
  };
}

/** `node -e` script: echo a line through the forward named demo, exit 0 when it came back. */
const ECHO_SCRIPT = [
  "const s = require('net').connect(Number(process.env.TUNNEL_DEMO_PORT), '127.0.0.1');",
  "let got = ''; const want = 'hello through the proxy';",
  "s.on('connect', () => s.write(want));",
  "s.on('data', (d) => { got += d; if (got.length >= want.length) { s.destroy(); process.exit(got === want ? 0 : 5); } });",
  "s.on('error', () => process.exit(6));",
].join('\n');

// tinyproxy comes from scripts/test-services.sh (run by .ci/run): on CI a missing one fails.
const PROXY = {
  skip:
    tinyproxyAvailable() || process.env['CI'] === 'true'
      ? false
      : 'tinyproxy is not installed (scripts/test-services.sh)',
};

t.test(
  'HTTPS_PROXY: API calls and the signed websocket go through a real proxy (its log shows both CONNECTs)',
  PROXY,
  async (t) => {
    const emu = await emulator(t);
    const echo = await startEchoServer(t);
    const dir = t.testdir({});
    const proxy = await startTinyproxy(t, dir);
    // The API endpoint is named `localhost`, the StreamUrl is 127.0.0.1: the proxy log tells them apart.
    const env = { ...awsEnv(emu, `http://localhost:${emu.port}`), HTTPS_PROXY: proxy.url };
    const r = await tunnel(['run', `demo:${echo.port}`, '--', process.execPath, '-e', ECHO_SCRIPT], env, dir);
    t.equal(r.code, 0, r.stderr);
    t.match(proxy.log(), `CONNECT localhost:${emu.port}`, 'API calls tunnelled through the proxy');
    t.match(proxy.log(), `CONNECT 127.0.0.1:${emu.port}`, 'the data-channel websocket tunnelled through the proxy');
    t.same(emu.errors, [], 'the signed upgrade was accepted through the tunnel');
    t.equal(emu.state.calls.filter((c) => c.operation === 'TerminateSession').length, 1);
    t.notMatch(r.stdout + r.stderr, SECRET);
  },
);

t.test('--proxy wins over HTTPS_PROXY; NO_PROXY sends a host direct', PROXY, async (t) => {
  const emu = await emulator(t);
  const dir = t.testdir({});
  const used = await startTinyproxy(t, dir);
  const ignored = await startTinyproxy(t, dir);
  const env = { ...awsEnv(emu, `http://localhost:${emu.port}`), HTTPS_PROXY: ignored.url };
  const r = await tunnel(['targets', '--proxy', used.url], env, dir);
  t.equal(r.code, 0, r.stderr);
  t.match(used.log(), `CONNECT localhost:${emu.port}`);
  t.notMatch(ignored.log(), /: CONNECT \S+ HTTP/, 'HTTPS_PROXY not used when --proxy is given');
  const direct = await tunnel(['targets'], { ...env, NO_PROXY: 'example.com,localhost' }, dir);
  t.equal(direct.code, 0, direct.stderr);
  t.notMatch(ignored.log(), /: CONNECT \S+ HTTP/, 'NO_PROXY: localhost went direct');
});

t.test('a proxy that refuses CONNECT: clear error, exit 69, nothing sent to the endpoint', PROXY, async (t) => {
  const emu = await emulator(t);
  const dir = t.testdir({});
  const proxy = await startTinyproxy(t, dir, { connectPorts: [443] });
  const r = await tunnel(['targets', '--json'], { ...awsEnv(emu), HTTPS_PROXY: proxy.url }, dir);
  t.equal(r.code, 69, r.stderr);
  const err = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; code?: string; message?: string })
    .find((e) => e.type === 'error');
  t.equal(err?.code, 'ERR_AWS_PROXY');
  t.match(
    err?.message,
    new RegExp(
      `the proxy ${proxy.url} \\(from \\$HTTPS_PROXY\\) refused CONNECT 127\\.0\\.0\\.1:${emu.port}: HTTP 403`,
    ),
  );
  t.match(proxy.log(), `CONNECT 127.0.0.1:${emu.port}`, 'the proxy saw (and refused) the CONNECT');
  t.equal(emu.state.calls.length, 0, 'nothing reached the endpoint');
});

t.test(
  'an endpoint that accepts and never answers: targets, ls --resolve and up end with ERR_AWS_TIMEOUT',
  async (t) => {
    const held = new Set<Socket>();
    const silent = createServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.teardown(() => {
      for (const s of held) s.destroy();
      silent.close();
    });
    const a = silent.address();
    const endpoint = `http://127.0.0.1:${a !== null && typeof a === 'object' ? a.port : 0}`;
    const env = {
      AWS_ENDPOINT_URL_SSM: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIASILENT0000000001',
      AWS_SECRET_ACCESS_KEY: 'silentsecret',
    };
    const dir = t.testdir({
      '.tunnel.yaml': 'forwards:\n  db:\n    target: { name: demo }\n    remotePort: 5432\n',
    });
    const targets = await tunnel(['targets', '--timeout', '2s'], env, dir);
    t.equal(targets.code, 69, targets.stderr);
    t.match(targets.stderr, /DescribeInstanceInformation: no answer .*\[ERR_AWS_TIMEOUT\]/);
    t.match(targets.stderr, /did not answer in time/, 'hint');
    const ls = await tunnel(['ls', '--resolve', '--timeout', '2s'], env, dir);
    t.not(ls.code, 0);
    t.match(ls.stderr, /db: DescribeInstanceInformation: no answer .*\[ERR_AWS_TIMEOUT\]/);
    const up = await tunnel(['up', '--wait', '--timeout', '2s'], env, dir);
    t.not(up.code, 0, 'up gives up');
    t.match(up.stderr, /ERR_AWS_TIMEOUT|ERR_CLI_TIMEOUT|ERR_TUNNEL_NOT_READY/);
  },
);

t.test(
  'a private CA: HTTPS API and wss:// data channel trusted via AWS_CA_BUNDLE or ca_bundle, refused without',
  async (t) => {
    const dir = t.testdir({});
    const ca = makeTestCa(dir);
    const emu = await emulator(t);
    const front = await startTlsFront(t, ca, emu.port);
    emu.state.setDataChannelBaseUrl(`wss://localhost:${front.port}`);
    const echo = await startEchoServer(t);
    const env = awsEnv(emu, `https://localhost:${front.port}`);
    const run = ['run', `demo:${echo.port}`, '--', process.execPath, '-e', ECHO_SCRIPT];

    const without = await tunnel(['targets'], env, dir);
    t.equal(without.code, 69, without.stderr);
    t.match(without.stderr, /certificate/i, 'untrusted certificate named');
    t.match(without.stderr, /AWS_CA_BUNDLE/, 'says what to do');

    const viaEnv = await tunnel(run, { ...env, AWS_CA_BUNDLE: ca.caFile }, dir);
    t.equal(viaEnv.code, 0, viaEnv.stderr);

    const profileDir = join(dir, 'home');
    mkdirSync(join(profileDir, '.aws'), { recursive: true });
    writeFileSync(join(profileDir, '.aws', 'config'), `[default]\nca_bundle = ${ca.caFile}\n`);
    const viaProfile = await tunnel(run, env, profileDir);
    t.equal(viaProfile.code, 0, viaProfile.stderr);
    t.same(emu.errors, []);
  },
);

t.test('an STS refusal while assuming a role is labelled STS (exit 77), not blamed on SSM', async (t) => {
  const sts = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(403, { 'content-type': 'text/xml' });
    res.end(
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>',
    );
  });
  sts.listen(0, '127.0.0.1');
  await once(sts, 'listening');
  t.teardown(() => sts.close());
  const a = sts.address();
  const stsPort = a !== null && typeof a === 'object' ? a.port : 0;
  const emu = await emulator(t);
  const dir = t.testdir({
    '.aws': {
      config:
        '[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\nregion = us-east-1\n',
      credentials: `[base]\naws_access_key_id = ${emu.credentials.accessKeyId}\naws_secret_access_key = ${SECRET}\n`,
    },
  });
  const env = { AWS_ENDPOINT_URL_SSM: emu.endpoint, AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${stsPort}` };
  const r = await tunnel(['targets', '--profile', 'app'], env, dir);
  t.equal(r.code, 77, r.stderr);
  t.match(
    r.stderr,
    /STS refused the credentials request \(AccessDenied, HTTP 403\): User is not authorized to perform: sts:AssumeRole/,
  );
  t.notMatch(r.stderr, SECRET);
});

t.test('a target that is not found names the region and where it came from', async (t) => {
  const emu = await emulator(t);
  const dir = t.testdir({});
  const r = await tunnel(['nosuchname:5432', '--wait', '--timeout', '8s'], awsEnv(emu), dir);
  t.equal(r.code, 69, r.stderr);
  t.match(r.stderr, /found none in region us-east-1 \(from \$AWS_REGION\)/);
  const flag = await tunnel(
    ['nosuchname:5432', '--wait', '--timeout', '8s', '--region', 'us-east-1'],
    awsEnv(emu),
    dir,
  );
  t.match(flag.stderr, /found none in region us-east-1 \(from --region\)/);
});
