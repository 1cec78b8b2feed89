/**
 * `tunnel doctor` through the built CLI: a healthy setup passes every check, and for every check
 * a failing condition (set in the emulator or the local environment) gives that check's status,
 * finding and fix line. `--json` output is validated in doctor-json.test.ts.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { startLoopbackServer } from '../helpers/loopback.js';
import { cliProcessEnv } from '../helpers/emulator.js';
import { BIN, INSTANCE, SECRET_MARK, doctor, emulator, line } from './doctor-helpers.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** A destination that speaks first (as SSH, MySQL and SMTP servers do). */
async function greeter(t: Parameters<typeof startLoopbackServer>[0]): Promise<number> {
  return (await startLoopbackServer(t, (s) => s.end('hello from the destination\n'))).port;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('a healthy setup passes every check; configured forwards are checked when none is named', async (t) => {
  const emu = await emulator(t);
  const dest = await greeter(t);
  const local = await closedPort();
  const home = t.testdir({
    '.tunnel.yaml': [
      'version: 1',
      'forwards:',
      `  app: { target: { name: demo }, remotePort: ${dest}, localPort: ${local} }`,
      `  db: { target: ${INSTANCE}, remotePort: ${dest}, localPort: auto }`,
      '',
    ].join('\n'),
  });
  const r = await doctor(t, emu, [], { home });
  t.equal(r.code, 0, r.stdout + r.stderr);
  const runtime = line(r.stdout, 'runtime');
  if (NODE_MAJOR < 22) {
    t.equal(runtime.status, 'WARN', 'Node below the next SDK minimum is a warning');
    t.match(runtime.finding, /AWS SDK releases after January 2027 require Node >= 22/);
    t.match(runtime.fix, /install Node 22 LTS or newer/);
  } else t.equal(runtime.status, 'PASS');
  t.match(runtime.finding, /no proxy; system CAs/);
  const identity = line(r.stdout, 'identity');
  t.equal(identity.status, 'PASS');
  t.match(
    identity.finding,
    'arn:aws:iam::123456789012:user/emulator (account 123456789012) from environment variables',
  );
  t.equal(line(r.stdout, 'clock').status, 'PASS');
  t.match(line(r.stdout, 'clock').finding, /within \d+ s of the service's clock/);
  t.match(line(r.stdout, 'endpoints'), { status: 'PASS', finding: /SSM API 127\.0\.0\.1:\d+ ok.*data channel/ });
  for (const fwd of ['app', 'db']) {
    t.match(line(r.stdout, `${fwd}/target`), {
      status: 'PASS',
      finding: /i-0123456789abcdef0.*Online, agent 3\.3\.4851\.0 \(smux.*keep-alive off\), Amazon Linux/,
      fix: undefined,
    });
    t.match(line(r.stdout, `${fwd}/permission`), {
      status: 'PASS',
      finding:
        /StartSession on i-0123456789abcdef0 with AWS-StartPortForwardingSession is allowed \(checked by a real session, emulator-[0-9a-f]{17}, terminated at once\)/,
    });
    t.match(line(r.stdout, `${fwd}/destination`), {
      status: 'PASS',
      finding: new RegExp(`reached localhost:${dest} \\(mux mode; the destination sent data first\\)`),
    });
  }
  t.match(line(r.stdout, 'app/local'), { status: 'PASS', finding: `127.0.0.1:${local}, [::1]:${local} free` });
  t.match(line(r.stdout, 'db/local'), { status: 'PASS', finding: /auto: a free port is picked/ });
  t.match(r.stdout, /no problems found: \d+ passed, [01] warnings?, 0 failed, 0 skipped/);
  t.notMatch(r.stdout + r.stderr, SECRET_MARK, 'no secret in the output');
  // The permission and destination sessions were all terminated.
  const started = emu.state.calls.filter((c) => c.operation === 'StartSession' && c.errorCode === undefined);
  t.equal(started.length, 4);
  t.ok(
    [...emu.state.sessions.values()].every((s) => s.status === 'terminated'),
    'no session left open',
  );
});

t.test('runtime: a malformed proxy and an unreadable CA bundle fail with their fixes', async (t) => {
  const emu = await emulator(t);
  const r = await doctor(t, emu, [], { env: { HTTPS_PROXY: 'http://[bad', AWS_CA_BUNDLE: '/nonexistent/ca.pem' } });
  t.equal(r.code, 1);
  const l = line(r.stdout, 'runtime');
  t.equal(l.status, 'FAIL');
  t.match(l.finding, 'HTTPS_PROXY=http://[bad is not an http(s) URL');
  t.match(l.finding, 'AWS_CA_BUNDLE=/nonexistent/ca.pem cannot be read (ENOENT)');
  t.match(l.fix, 'set HTTPS_PROXY to a URL such as http://proxy.example.com:3128, or unset it');
  t.match(l.fix, 'point AWS_CA_BUNDLE at a readable PEM bundle, or unset it');
  t.equal(line(r.stdout, 'identity').status, 'PASS', 'a failing check does not stop the others');
});

t.test('runtime: a proxy tunnel does not use yet is a warning, and its password is never printed', async (t) => {
  const emu = await emulator(t);
  const r = await doctor(t, emu, [], { env: { HTTPS_PROXY: 'http://alice:PROXYPASSWORDxyz@proxy.example:3128' } });
  const l = line(r.stdout, 'runtime');
  t.equal(l.status, 'WARN');
  t.match(l.finding, 'proxy http://proxy.example:3128 (HTTPS_PROXY) is set, but tunnel connects directly');
  t.match(l.fix, 'allow direct HTTPS (443) to ssm.REGION.amazonaws.com and ssmmessages.REGION.amazonaws.com');
  t.notMatch(r.stdout + r.stderr, 'PROXYPASSWORDxyz');
});

t.test('every check has a timeout: an endpoint that accepts and never answers', async (t) => {
  const emu = await emulator(t);
  const hole = await startLoopbackServer(t, () => undefined);
  const r = await doctor(t, emu, ['demo:22:auto', '--timeout', '1s'], {
    env: { AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${hole.port}` },
  });
  t.equal(r.code, 1);
  t.match(line(r.stdout, 'identity'), {
    status: 'FAIL',
    finding: 'no answer within 1 s',
    fix: /check the network path to STS/,
  });
  t.match(line(r.stdout, 'clock'), { status: 'FAIL', finding: 'no answer within 1 s' });
  t.match(line(r.stdout, 'endpoints'), { status: 'PASS', finding: `SSM API 127.0.0.1:${hole.port} ok (loopback)` });
  t.match(line(r.stdout, 'demo/target'), { status: 'FAIL', finding: 'no answer within 1 s', fix: /network path/ });
  t.equal(line(r.stdout, 'demo/permission').status, 'SKIP');
  t.equal(line(r.stdout, 'demo/local').status, 'PASS');
});

t.test('identity: the service says the token expired (emulator expiredToken)', async (t) => {
  const emu = await emulator(t, { faults: { expiredToken: true } });
  const r = await doctor(t, emu, [`demo:22:auto`], { env: { AWS_SESSION_TOKEN: 'SESSIONTOKENdoctor123' } });
  t.equal(r.code, 1);
  const l = line(r.stdout, 'identity');
  t.equal(l.status, 'FAIL');
  t.match(
    l.finding,
    /STS says the credentials from environment variables \(AWS_ACCESS_KEY_ID, AWS_SESSION_TOKEN\) have expired: The security token included in the request is expired/,
  );
  t.match(l.fix, 'get fresh credentials and export them again');
  t.notMatch(r.stdout + r.stderr, 'SESSIONTOKENdoctor123');
  t.equal(emu.state.calls.find((c) => c.operation === 'sts:GetCallerIdentity')?.errorCode, 'ExpiredToken');
});

t.test('identity: session credentials past AWS_CREDENTIAL_EXPIRATION', async (t) => {
  const emu = await emulator(t);
  const r = await doctor(t, emu, [], {
    env: { AWS_SESSION_TOKEN: 'SESSIONTOKENdoctor456', AWS_CREDENTIAL_EXPIRATION: '2020-01-01T00:00:00Z' },
  });
  const l = line(r.stdout, 'identity');
  t.equal(l.status, 'FAIL');
  t.match(l.finding, 'expired at 2020-01-01T00:00:00.000Z');
  t.match(l.fix, 'get fresh credentials');
});

t.test('identity: an expired SSO token names the profile and the login command', async (t) => {
  const emu = await emulator(t);
  const cacheFile = `${createHash('sha1').update('corp').digest('hex')}.json`;
  const home = t.testdir({
    '.aws': {
      config: [
        '[profile dev]',
        'sso_session = corp',
        'sso_account_id = 123456789012',
        'sso_role_name = Dev',
        'region = us-east-1',
        '[sso-session corp]',
        'sso_start_url = https://corp.awsapps.com/start',
        'sso_region = us-east-1',
        '',
      ].join('\n'),
      sso: {
        cache: { [cacheFile]: JSON.stringify({ accessToken: 'SSOTOKENdoctor789', expiresAt: '2021-05-01T10:00:00Z' }) },
      },
    },
  });
  const r = await doctor(t, emu, ['--profile', 'dev'], {
    home,
    drop: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  });
  const l = line(r.stdout, 'identity');
  t.equal(l.status, 'FAIL');
  t.match(l.finding, 'the SSO token of profile dev (corp) expired at 2021-05-01T10:00:00.000Z');
  t.equal(l.fix, 'run `aws sso login --profile dev`');
  t.notMatch(r.stdout + r.stderr, 'SSOTOKENdoctor789');
});

t.test('clock: a service clock 20 minutes off (emulator clockSkewMs)', async (t) => {
  const emu = await emulator(t, { faults: { clockSkewMs: 20 * 60_000 } });
  const r = await doctor(t, emu, []);
  t.equal(r.code, 1);
  const l = line(r.stdout, 'clock');
  t.equal(l.status, 'FAIL');
  t.match(
    l.finding,
    /this machine's clock is 20 min behind the service \(127\.0\.0\.1:\d+\): SigV4 requests are refused/,
  );
  t.match(l.fix, 'sync the clock: `sudo timedatectl set-ntp true`');
  // The emulator refused the first signature, as AWS does; the SDK corrected its offset from Date.
  t.ok(
    emu.state.calls.some((c) => c.operation === 'sts:GetCallerIdentity' && c.errorCode === 'SignatureDoesNotMatch'),
    'SigV4 refusal recorded',
  );
});

t.test('endpoints: nothing listens at the SSM endpoint', async (t) => {
  const emu = await emulator(t);
  const port = await closedPort();
  const r = await doctor(t, emu, [], { env: { AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${port}` } });
  t.equal(r.code, 1);
  const l = line(r.stdout, 'endpoints');
  t.equal(l.status, 'FAIL');
  t.match(l.finding, `SSM API 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
  t.match(l.fix, `start the endpoint at 127.0.0.1:${port} (e.g. \`tunnel emulator\`) or fix --endpoint`);
});

t.test('target: ConnectionLost, an agent too old for remote hosts, and no such Name tag', async (t) => {
  const emu = await emulator(t, {
    instances: [
      { instanceId: INSTANCE, name: 'demo' },
      { instanceId: 'i-0aaaaaaaaaaaaaaa1', name: 'lost', pingStatus: 'ConnectionLost' },
      { instanceId: 'i-0bbbbbbbbbbbbbbb2', name: 'old', agentVersion: '3.0.1124.0' },
    ],
  });
  const r = await doctor(t, emu, ['lost:22:auto', 'old:db.internal:5432:auto', 'nosuch:22:auto']);
  t.equal(r.code, 1);
  const lost = line(r.stdout, 'lost/target');
  t.equal(lost.status, 'FAIL');
  t.match(lost.finding, 'i-0aaaaaaaaaaaaaaa1 (Name=lost) is ConnectionLost in Session Manager');
  t.match(lost.fix, 'check that amazon-ssm-agent runs (`sudo systemctl status amazon-ssm-agent`)');
  t.equal(line(r.stdout, 'lost/permission').status, 'SKIP');
  t.match(line(r.stdout, 'lost/destination'), { status: 'SKIP', finding: 'not run: the target check did not pass' });
  const old = line(r.stdout, 'old/target');
  t.equal(old.status, 'FAIL');
  t.match(old.finding, 'agent 3.0.1124.0 predates forwarding to remote hosts (3.1.1374.0)');
  t.match(
    old.fix,
    'aws ssm send-command --document-name AWS-UpdateSSMAgent --targets Key=InstanceIds,Values=i-0bbbbbbbbbbbbbbb2',
  );
  const none = line(r.stdout, 'nosuch/target');
  t.equal(none.status, 'FAIL');
  t.match(none.finding, 'no managed node matches Name=nosuch');
  t.match(none.fix, 'run `tunnel targets` to list managed nodes');
  t.equal(line(r.stdout, 'lost/local').status, 'PASS', 'independent checks still ran');
});

t.test('permission: StartSession denied on the document, and on the target', async (t) => {
  const emu = await emulator(t, {
    instances: [
      { instanceId: INSTANCE, name: 'demo' },
      { instanceId: 'i-0ccccccccccccccc3', name: 'locked' },
    ],
    accessDeny: [
      { action: 'ssm:StartSession', resource: 'AWS-StartPortForwardingSessionToRemoteHost' },
      { action: 'ssm:StartSession', resource: 'i-0ccccccccccccccc3' },
    ],
  });
  const r = await doctor(t, emu, ['demo:db.internal:5432:auto', 'locked:22:auto']);
  t.equal(r.code, 1);
  const doc = line(r.stdout, 'demo/permission');
  t.equal(doc.status, 'FAIL');
  t.match(
    doc.finding,
    'StartSession on i-0123456789abcdef0 with AWS-StartPortForwardingSessionToRemoteHost is denied: User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: ssm:StartSession on resource: arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost',
  );
  t.match(
    doc.fix,
    'attach to the caller a policy with [{"Effect":"Allow","Action":"ssm:StartSession","Resource":["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0","arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost"]}',
  );
  t.equal(line(r.stdout, 'demo/destination').status, 'SKIP');
  const node = line(r.stdout, 'locked/permission');
  t.equal(node.status, 'FAIL');
  t.match(node.finding, 'on resource: arn:aws:ec2:us-east-1:123456789012:instance/i-0ccccccccccccccc3');
  t.match(node.fix, 'arn:aws:ec2:us-east-1:123456789012:instance/i-0ccccccccccccccc3');
});

t.test('destination: refused, unresolvable on the instance, forbidden by the agent', async (t) => {
  const emu = await emulator(t, {
    remoteHostDenyList: ['10.9.9.9'],
    faults: { unresolvableHosts: ['db.internal'] },
  });
  const port = await closedPort();
  // --timeout 60s: the quiet window is 20 s, so a refusal never races it on a loaded machine.
  const r = await doctor(t, emu, [
    `demo:${port}:auto`,
    'demo:db.internal:5432:auto',
    'demo:10.9.9.9:5432:auto',
    '--timeout',
    '60s',
  ]);
  t.equal(r.code, 1);
  const refused = line(r.stdout, `demo-${port}/destination`);
  t.equal(refused.status, 'FAIL');
  t.match(refused.finding, `the agent could not connect to localhost:${port}: ConnectToPortError`);
  t.match(refused.fix, `start the service on localhost:${port}`);
  const unresolvable = line(r.stdout, 'demo-5432/destination');
  t.equal(unresolvable.status, 'FAIL');
  t.match(unresolvable.finding, 'the instance cannot resolve db.internal: lookup db.internal: no such host');
  t.match(unresolvable.fix, "use a name the instance's VPC resolver knows");
  // Both remote-host forwards use port 5432: the names are target-port, then the host decides.
  const forbidden = r.stdout
    .split('\n')
    .filter((l) => l.includes('/destination:'))
    .find((l) => l.includes('10.9.9.9'));
  t.match(
    forbidden,
    /^FAIL {2}\S+\/destination: the agent refuses 10\.9\.9\.9:5432: Forwarding to IP address 10\.9\.9\.9 is forbidden\./,
  );
  t.match(r.stdout, /fix: the agent forbids instance-metadata and link-local addresses/);
  t.ok(
    [...emu.state.sessions.values()].every((s) => s.status === 'terminated'),
    'no session left open',
  );
});

t.test('destination: a basic-mode agent (no smux) reports a refused port through channel_closed', async (t) => {
  const emu = await emulator(t, { instances: [{ instanceId: INSTANCE, name: 'demo', agentVersion: '3.0.161.0' }] });
  const port = await closedPort();
  const r = await doctor(t, emu, [`demo:${port}:auto`, '--timeout', '60s']);
  const target = line(r.stdout, 'demo/target');
  t.equal(target.status, 'WARN');
  t.match(target.finding, 'agent 3.0.161.0 (basic mode (one connection per session))');
  t.match(target.fix, 'update the agent for smux');
  const l = line(r.stdout, 'demo/destination');
  t.equal(l.status, 'FAIL');
  t.match(
    l.finding,
    `the agent could not connect to localhost:${port}: Unable to connect to specified port: dial tcp 127.0.0.1:${port}: connect: connection refused`,
  );
  t.match(l.fix, `start the service on localhost:${port}`);
});

t.test('local: a port held by another process fails; one held by tunnel itself passes', async (t) => {
  const emu = await emulator(t);
  const dest = await greeter(t);
  // Held by this test process.
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.teardown(() => new Promise<void>((r) => holder.close(() => r())));
  const busy = (holder.address() as AddressInfo).port;
  const r = await doctor(t, emu, [`demo:${dest}:${busy}`]);
  t.equal(r.code, 1);
  const l = line(r.stdout, `demo/local`);
  t.equal(l.status, 'FAIL');
  t.match(l.finding, new RegExp(`^127\\.0\\.0\\.1:${busy} is in use by pid ${process.pid} \\(`));
  t.match(l.fix, `stop pid ${process.pid}, or choose another local port`);

  // Held by a running `tunnel` forward.
  const home = t.testdir({});
  const local = await closedPort();
  const fwd = spawn(process.execPath, [BIN, `demo:${dest}:${local}`, '--no-user-config'], {
    cwd: home,
    env: { ...cliProcessEnv(emu, home), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (fwd.exitCode === null) fwd.kill('SIGKILL');
  });
  let out = '';
  for (let i = 0; i < 1000 && !/^demo\s+127\.0\.0\.1:/m.test(out); i++) {
    const [d] = (await once(fwd.stdout, 'data')) as [Buffer];
    out += d.toString();
  }
  const r2 = await doctor(t, emu, [`demo:${dest}:${local}`], { home });
  const own = line(r2.stdout, 'demo/local');
  t.equal(own.status, 'PASS', r2.stdout);
  t.match(own.finding, `127.0.0.1:${local} is held by tunnel itself (pid ${fwd.pid})`);
  fwd.kill('SIGINT');
  await once(fwd, 'close');
});
