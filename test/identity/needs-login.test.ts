/**
 * Expiry is an event, not a retry storm (issue #15): with `tunnel up` running on an Identity
 * Center profile, the sign-in ends mid-transfer (the emulator's expire hook) and the session
 * drops; the forward goes to `needs-login` with the exact `tunnel login` to run, stops calling
 * the API, keeps its port open; a new `tunnel login` (a second process) rewrites the token
 * cache and the forward recovers by itself, on the same port, without a restart.
 */
import t from 'tap';
import type { Test } from 'tap';
import { once } from 'node:events';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { withEmulator } from '../helpers/emulator.js';
import { calls, identityEnv, runTunnel, tempHome, type Proc } from '../helpers/identity.js';
import { startEchoServer } from '../helpers/loopback.js';
import type { Emulator } from '../../src/emulator/index.js';

const CONFIG = [
  '[profile dev]',
  'sso_session = corp',
  'sso_account_id = 123456789012',
  'sso_role_name = Developer',
  'region = us-east-1',
  '',
  '[sso-session corp]',
  'sso_start_url = https://corp.example/start',
  'sso_region = us-east-1',
  '',
].join('\n');

type Event = Record<string, unknown>;

function events(p: Proc): Event[] {
  return p
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

function waitEvent(p: Proc, match: (e: Event) => boolean): Promise<Event> {
  return p.until(() => events(p).find(match));
}

/** Sign in with a second process; the code is approved through the URL it printed. */
async function login(t: Test, emu: Emulator, env: Record<string, string>, home: string): Promise<Proc> {
  const p = runTunnel(t, ['login', '--profile', 'dev', '--no-browser'], { env, cwd: home });
  const [, url] = await p.wait(/Open (\S+)\n/);
  const r = await fetch(url ?? '');
  t.equal(r.status, 200, 'code approved');
  t.equal((await p.exit).code, 0, p.stderr());
  return p;
}

async function roundTrip(s: Socket, text: string): Promise<string> {
  s.write(text);
  let got = '';
  for (let i = 0; i < 10_000 && got.length < text.length; i++) {
    const [d] = (await once(s, 'data')) as [Buffer];
    got += d.toString();
  }
  return got;
}

async function open(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  return s;
}

t.test('expiry mid-transfer → needs-login, port open → tunnel login → recovers without restart', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const echo = await startEchoServer(t);
  const home = tempHome(t, CONFIG);
  writeFileSync(
    join(home, '.tunnel.yaml'),
    [
      'defaults:',
      '  profile: dev',
      '  region: us-east-1',
      'forwards:',
      '  db:',
      '    target: i-0123456789abcdef0',
      `    remotePort: ${echo.port}`,
      '    localPort: auto',
      '',
    ].join('\n'),
  );
  const env = identityEnv(emu, home);
  await login(t, emu, env, home);

  const up = runTunnel(t, ['up', '--json', '--no-user-config'], { env, cwd: home });
  const ready = await waitEvent(up, (e) => e['type'] === 'ready' && e['forward'] === 'db');
  const port = (ready['addresses'] as Array<{ port: number }>)[0]?.port ?? 0;
  const started = await waitEvent(up, (e) => e['type'] === 'session-started');
  const client = await open(port);
  t.equal(await roundTrip(client, 'before expiry\n'), 'before expiry\n', 'data flows');

  // The sign-in ends (tokens, refresh tokens and role keys all refused), then the session drops
  // mid-transfer: the forward must start a new session and finds its credentials refused.
  emu.identity.expireAll();
  client.on('error', () => {}); // the lost session resets its connections (issue 13)
  const closed = new Promise((resolve) => client.on('close', resolve));
  emu.terminate(String(started['sessionId']));
  await closed;
  const needs = await waitEvent(up, (e) => e['type'] === 'needs-login');
  t.match(needs, { forward: 'db', profile: 'dev', command: 'tunnel login --profile dev' });
  t.match(String(needs['message']), /run `tunnel login --profile dev`/);
  await waitEvent(up, (e) => e['type'] === 'forward-state' && e['state'] === 'needs-login');
  const startsAtPause = calls(emu, 'StartSession').length;

  // The port stays open: a client connects (and is closed at once, nothing is queued). The reset
  // can reach the client before its connect completes ("connect ECONNRESET"); a closed port
  // would be ECONNREFUSED instead.
  const probe = connect({ host: '127.0.0.1', port });
  let probeError: NodeJS.ErrnoException | undefined;
  probe.on('error', (e: NodeJS.ErrnoException) => (probeError = e));
  await new Promise((resolve) => probe.on('close', resolve));
  t.not(probeError?.code, 'ECONNREFUSED', 'local port still accepts while waiting for a sign-in');

  // A new sign-in in another process; the forward notices the cache file and comes back.
  const cacheFile = join(home, '.aws', 'sso', 'cache');
  await login(t, emu, env, home);
  await waitEvent(
    up,
    (e) => e['type'] === 'forward-state' && e['state'] === 'ready' && e['previous'] === 'reconnecting',
  );
  t.equal(
    calls(emu, 'StartSession').length - startsAtPause,
    1,
    'one StartSession after the sign-in, none while waiting (no retry storm)',
  );
  t.notOk(
    events(up).some((e) => e['type'] === 'retry-scheduled' && /sign-in|credential|token/i.test(String(e['message']))),
    'no retries scheduled for refused credentials',
  );
  const again = await open(port);
  t.equal(await roundTrip(again, 'after login\n'), 'after login\n', 'same port, same process, data flows again');
  again.destroy();
  t.equal(up.child.exitCode, null, 'tunnel up never exited');

  // Nothing secret in anything `up` printed.
  const [file] = readdirSync(cacheFile);
  const token = JSON.parse(readFileSync(join(cacheFile, file ?? ''), 'utf8')) as Record<string, string>;
  for (const k of ['accessToken', 'refreshToken', 'clientSecret'])
    t.notOk(up.all().includes(token[k] ?? '-'), `up prints no ${k}`);
  up.child.kill('SIGTERM');
  t.equal((await up.exit).code, 0, 'SIGTERM stops it cleanly');
});

t.test('tunnel up --wait / tunnel run without a sign-in fail at once with status 77', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const home = tempHome(t, CONFIG);
  const env = identityEnv(emu, home);
  const up = runTunnel(t, ['i-0123456789abcdef0:22:auto', '--profile', 'dev', '--wait', '--no-user-config'], {
    env,
    cwd: home,
  });
  t.equal((await up.exit).code, 77, up.all());
  t.match(up.stderr(), /run `tunnel login --profile dev`/);
  const run = runTunnel(t, ['run', 'i-0123456789abcdef0:22:auto', '--profile', 'dev', '--', 'true'], {
    env,
    cwd: home,
  });
  t.equal((await run.exit).code, 77, run.all());
  t.match(run.stderr(), /ERR_AWS_LOGIN_REQUIRED/);
  t.equal(calls(emu, 'StartSession').length, 0, 'no StartSession without credentials');
});
