/**
 * The `needs-login` hook of a forward (issue #15; issue #12: refused credentials are not retried
 * forever), with fake ports and a fake clock: no retries while parked, port open, recovery when
 * the login wait resolves; static keys (no login hook) fail instead of retrying.
 */
import t from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import { AwsError } from '../../src/errors.js';
import { seededRandom } from '../../src/tunnel/backoff.js';
import type { LoginHook } from '../../src/tunnel/accounts.js';
import type { TunnelEvent } from '../../src/tunnel/events.js';
import { Forward, type ForwardDeps } from '../../src/tunnel/forward.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeApi, FakeFactory } from './fakes.js';

class FakeLogin implements LoginHook {
  profile = 'dev';
  command = 'tunnel login --profile dev';
  checks = 0;
  checkOk = false;
  waiting: Array<{ resolve: () => void; signal: AbortSignal }> = [];
  async check(): Promise<void> {
    this.checks++;
    if (!this.checkOk) throw new Error('still expired');
  }
  waitForLogin(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, signal });
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }
}

function setup(login: LoginHook | undefined) {
  const clock = new FakeClock();
  const api = new FakeApi();
  const factory = new FakeFactory();
  const events: TunnelEvent[] = [];
  const deps: ForwardDeps = {
    api,
    factory,
    clock,
    random: seededRandom(1),
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 },
    startAttempts: 2,
    probeTimeoutMs: 50,
    basicSpareLingerMs: 1000,
    maxBasicSessions: 8,
    maxPending: 100,
    secrets: new Set(),
    emit: (e) => events.push(e),
    ...(login === undefined ? {} : { login }),
  };
  const f = new Forward(
    {
      name: 'db',
      target: { kind: 'id', id: 'i-0123456789abcdef0' },
      remotePort: 5432,
      localPort: 'auto',
      bind: ['127.0.0.1'],
    },
    deps,
  );
  return { clock, api, factory, events, f };
}

async function until(f: Forward, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !pred(); i++) await once(f, 'event');
}

t.test('refused credentials after ready: needs-login, no API retries, port open, recovery', async (t) => {
  const login = new FakeLogin();
  const { f, api, factory, events, clock } = setup(login);
  t.teardown(() => f.stop());
  await f.start();
  t.equal(f.state, 'ready');
  const expired = new AwsError('ERR_AWS_EXPIRED_TOKEN', 'The security token included in the request is expired');
  api.startErrors.push(expired);
  // The session drops: a new StartSession is refused; one re-check fails; the forward parks.
  // The session lived past the healthy mark (issue 13): its replacement starts at once.
  clock.advance(11_000);
  factory.channels[0]?.serviceClose('');
  await until(f, () => f.state === 'needs-login');
  t.equal(login.checks, 1, 'one credentials re-check before parking');
  const ev = events.find((e) => e.type === 'needs-login');
  t.match(ev, { forward: 'db', profile: 'dev', command: 'tunnel login --profile dev', code: 'ERR_AWS_EXPIRED_TOKEN' });
  t.match(String(ev?.['message']), /run `tunnel login --profile dev`/);
  t.match(f.status().error, { code: 'ERR_AWS_EXPIRED_TOKEN' });
  const startsParked = api.started.length;

  // Time passes: nothing is retried against the API.
  clock.advance(60 * 60_000);
  t.equal(api.started.length, startsParked, 'no StartSession while parked (an hour later)');
  t.notOk(
    events.some((e) => e.type === 'retry-scheduled'),
    'no retry scheduled',
  );

  // The port still accepts; the client is closed at once and counted.
  const c = connect(f.port ?? 0, '127.0.0.1');
  c.on('error', () => {}); // refused with a reset, never a clean end
  await new Promise((resolve) => c.on('close', resolve));
  t.equal(f.status().connections.failed >= 1, true);

  // A new sign-in: the wait resolves; one StartSession; ready again.
  t.equal(login.waiting.length, 1);
  login.waiting[0]?.resolve();
  await until(f, () => f.state === 'ready');
  t.equal(api.started.length, startsParked + 1);
  t.ok(
    events.some((e) => e.type === 'forward-state' && e['state'] === 'reconnecting' && e['previous'] === 'needs-login'),
  );
  t.equal(f.status().error, undefined);
});

t.test('an expired key that refreshes on the re-check is retried at once, no needs-login', async (t) => {
  const login = new FakeLogin();
  login.checkOk = true;
  const { f, api, factory, events, clock } = setup(login);
  t.teardown(() => f.stop());
  await f.start();
  api.startErrors.push(new AwsError('ERR_AWS_EXPIRED_TOKEN', 'expired'));
  // The session lived past the healthy mark (issue 13): its replacement starts at once.
  clock.advance(11_000);
  factory.channels[0]?.serviceClose('');
  await until(f, () => api.started.length === 3 && f.state === 'ready');
  t.notOk(events.some((e) => e.type === 'needs-login'));
  t.equal(login.checks, 1);
});

t.test('stop while parked ends the wait', async (t) => {
  const login = new FakeLogin();
  const { f, api, factory, clock } = setup(login);
  await f.start();
  api.startErrors.push(new AwsError('ERR_AWS_LOGIN_REQUIRED', 'sign-in missing'));
  // The session lived past the healthy mark (issue 13): its replacement starts at once.
  clock.advance(11_000);
  factory.channels[0]?.serviceClose('');
  await until(f, () => f.state === 'needs-login');
  await f.stop();
  t.equal(f.state, 'stopped');
  t.equal(login.waiting[0]?.signal.aborted, true, 'the wait was aborted');
});

t.test('static keys (no login hook) refused after ready: the forward fails, no retry loop', async (t) => {
  const { f, api, factory, events, clock } = setup(undefined);
  t.teardown(() => f.stop());
  await f.start();
  api.startErrors.push(new AwsError('ERR_AWS_CREDENTIALS', 'The security token included in the request is invalid.'));
  // The session lived past the healthy mark (issue 13): its replacement starts at once.
  clock.advance(11_000);
  factory.channels[0]?.serviceClose('');
  await until(f, () => f.state === 'failed');
  t.match(f.status().error, { code: 'ERR_AWS_CREDENTIALS' });
  t.notOk(events.some((e) => e.type === 'retry-scheduled'));
  t.equal(api.started.length, 2);
});
