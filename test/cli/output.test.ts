import t from 'tap';
import { PassThrough } from 'node:stream';
import { ConfigError, TunnelError } from '../../src/errors.js';
import type { ForwardStatus } from '../../src/tunnel/events.js';
import { createRenderer, describeEvent, statusRows } from '../../src/cli/output/renderer.js';
import { formatAddress, formatBytes, formatRate, table } from '../../src/cli/output/format.js';
import { maskSecrets, maskingStream, redactKeys, secretsFromEnv, REDACTED } from '../../src/cli/output/redact.js';
import { adviceFor, reportError } from '../../src/cli/report.js';
import { promptLine } from '../../src/cli/aws-settings.js';
import { CapturedIo, CapturedStream } from './capture-io.js';

const status = (over: Partial<ForwardStatus> = {}): ForwardStatus => ({
  name: 'db',
  state: 'ready',
  addresses: [
    { address: '127.0.0.1', port: 5432 },
    { address: '::1', port: 5432 },
  ],
  target: 'i-0123456789abcdef0',
  remote: 'db.internal:5432',
  connections: { active: 1, total: 3, failed: 0 },
  bytesIn: 2048,
  bytesOut: 10,
  rateInBps: 1536,
  rateOutBps: 0,
  sessions: [],
  reconnects: 0,
  ...over,
});

const ev = (type: string, fields: Record<string, unknown> = {}) => ({
  type,
  time: '2026-01-01T00:00:00.000Z',
  forward: 'db',
  ...fields,
});

t.test('formatters', async (t) => {
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(50 * 1048576), '50 MiB');
  t.equal(formatRate(2048), '2.0 KiB/s');
  t.equal(formatAddress('::1', 5), '[::1]:5');
  t.equal(formatAddress('127.0.0.1', 5), '127.0.0.1:5');
  t.same(
    table([
      ['A', 'BB'],
      ['CCC', 'D'],
    ]),
    ['A    BB', 'CCC  D'],
  );
});

t.test('plain mode: ready summaries on stdout, problems on stderr, details only with --verbose', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  const r = createRenderer(io, { mode: 'plain', quiet: false, verbose: false });
  r.event(ev('forward-state', { state: 'starting', previous: 'idle' }));
  r.event(ev('listening', { addresses: [{ address: '127.0.0.1', port: 5432 }], port: 5432, fellBack: false }));
  r.event(ev('connection-opened', { connection: 1 }));
  r.cliEvent('ready', { forward: 'db' }, 'db  127.0.0.1:5432 -> i-0 db.internal:5432');
  r.event(ev('forward-state', { state: 'reconnecting', previous: 'ready' }));
  r.event(ev('forward-state', { state: 'ready', previous: 'reconnecting' }));
  r.event(ev('connect-error', { message: 'the agent could not connect to db.internal:5432' }));
  r.event(ev('forward-state', { state: 'failed', code: 'ERR_AWS_ACCESS_DENIED', message: 'no' }));
  t.equal(io.stdout.text, 'db  127.0.0.1:5432 -> i-0 db.internal:5432\ndb: reconnecting\ndb: ready again\n');
  t.equal(
    io.stderr.text,
    'db: the agent could not connect to db.internal:5432\ndb: failed: no [ERR_AWS_ACCESS_DENIED]\n',
  );
  t.equal(
    describeEvent(ev('listening', { addresses: [{ address: '::1', port: 9 }], port: 9, fellBack: true }), false),
    'db: preferred local port was busy; listening on [::1]:9',
  );
  t.match(
    describeEvent(ev('connection-closed', { connection: 2, bytesIn: 2048, bytesOut: 1 }), true),
    /connection 2 closed \(in 2\.0 KiB, out 1 B\)/,
  );
  t.equal(describeEvent(ev('connection-closed', { connection: 2 }), false), undefined);
});

t.test('quiet mode prints only problems', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  const r = createRenderer(io, { mode: 'plain', quiet: true, verbose: false });
  r.cliEvent('ready', {}, 'db up');
  r.info('starting…');
  r.event(ev('forward-state', { state: 'reconnecting' }));
  r.event(ev('warning', { message: 'skipped ::1' }));
  t.equal(io.stdout.text, '');
  t.equal(io.stderr.text, 'db: warning: skipped ::1\n');
});

t.test('json mode: one object per line on stdout, CLI events included, secret-looking keys dropped', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  const r = createRenderer(io, { mode: 'json', quiet: false, verbose: false });
  r.info('not printed');
  r.event(ev('session-started', { sessionId: 's-1', tokenValue: 'abcdefgh12345678' }));
  r.cliEvent('ready', { forward: 'db', addresses: [] });
  const lines = io.stdout.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(lines, [
    { type: 'session-started', sessionId: 's-1', tokenValue: REDACTED },
    { type: 'ready', forward: 'db', time: /Z$/ },
  ]);
  t.equal(io.stderr.text, '');
});

t.test('tty mode: a table redrawn in place, log lines above it', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  io.isTTY = true;
  io.stdout.columns = 200;
  const r = createRenderer(io, { mode: 'tty', quiet: false, verbose: false });
  r.status([status()]);
  t.match(io.stdout.text, /FORWARD\s+LOCAL\s+REMOTE\s+STATE\s+CONN\s+IN\s+OUT\s+RATE/);
  t.match(
    io.stdout.text,
    /db\s+127\.0\.0\.1:5432 \[::1\]:5432\s+i-0123456789abcdef0 db\.internal:5432\s+ready\s+1\/3\s+2\.0 KiB\s+10 B\s+↓1\.5 KiB\/s ↑0 B\/s/,
  );
  const before = io.stdout.text.length;
  r.event(ev('warning', { message: 'hello' }));
  const redraw = io.stdout.text.slice(before);
  t.ok(redraw.startsWith('\x1b[2A\x1b[J'), 'moves up over the two table lines and clears');
  t.match(redraw, /^\x1b\[2A\x1b\[Jdb: warning: hello\nFORWARD/);
  r.close([status({ state: 'stopped' })]);
  t.match(io.stdout.text.slice(-200), /stopped/);
  const narrow = statusRows([status({ addresses: [], target: undefined })]);
  t.equal(narrow[1]?.[1], '-');
  t.match(narrow[1]?.[2], /^\? /);
});

t.test('secrets: env values are masked in every write; JSON keys redacted', async (t) => {
  const env = {
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN',
    SHORT_TOKEN: 'abc',
    HOME: '/home/someone-long',
  };
  const secrets = secretsFromEnv(env);
  t.same(
    secrets.sort(),
    [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN].sort(),
    'short values and non-secret names are left alone',
  );
  const out = new CapturedStream();
  const masked = maskingStream(out, secrets);
  masked.write(`key=${env.AWS_SECRET_ACCESS_KEY} token=${env.AWS_SESSION_TOKEN}\n`);
  t.equal(out.text, `key=${REDACTED} token=${REDACTED}\n`);
  t.equal(maskSecrets('nothing here', secrets), 'nothing here');
  t.same(redactKeys({ a: 1, sessionToken: 'x', nested: [{ secretAccessKey: 'y', ok: 'z' }], password: null }), {
    a: 1,
    sessionToken: REDACTED,
    nested: [{ secretAccessKey: REDACTED, ok: 'z' }],
    password: null,
  });
});

t.test('error reports: config issues listed, advice for SSO and credentials, --json error event', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  reportError(
    io,
    new ConfigError('ERR_CONFIG_INVALID', 'invalid configuration: 1 problem', [
      { file: 'f.yaml', line: 2, column: 3, path: 'x', message: 'bad', hint: 'fix it' },
    ]),
    78,
    { json: true, verbose: false },
  );
  t.equal(io.stderr.text, 'tunnel: invalid configuration: 1 problem\n  f.yaml:2:3: x: bad (fix it)\n');
  t.match(JSON.parse(io.stdout.text) as unknown, {
    type: 'error',
    code: 'ERR_CONFIG_INVALID',
    exitCode: 78,
    issues: [{ line: 2 }],
  });
  t.match(
    adviceFor(
      new TunnelError('ERR_AWS_EXPIRED_TOKEN', 'The SSO session associated with this profile has expired'),
      'dev',
    ),
    'tunnel login --profile dev',
  );
  t.match(
    adviceFor(
      new TunnelError('ERR_AWS_CREDENTIALS', 'Token is expired. To refresh this SSO session run aws sso login'),
      undefined,
    ),
    /run `tunnel login`/,
  );
  t.match(
    adviceFor(new TunnelError('ERR_AWS_CREDENTIALS', 'Could not load credentials from any providers')),
    /set AWS credentials/,
  );
  t.equal(adviceFor(new Error('x')), undefined);
  const v = new CapturedIo({ cwd: '/' });
  reportError(v, new TunnelError('ERR_AWS_API', 'outer', { cause: new Error('inner cause') }), 1, {
    json: false,
    verbose: true,
  });
  t.match(v.stderr.text, /tunnel: outer \[ERR_AWS_API\]\n  caused by: inner cause/);
  const bug = new CapturedIo({ cwd: '/' });
  reportError(bug, new RangeError('oops'), 70, { json: false, verbose: false });
  t.equal(bug.stderr.text, 'tunnel: internal error: oops\n');
});

t.test('the MFA prompt asks on stderr and reads one line from stdin', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  const stdin = new PassThrough();
  Object.assign(io, { stdin });
  const answer = promptLine(io, 'MFA code for arn:aws:iam::1:mfa/me: ');
  stdin.write('123');
  stdin.write('456\r\nrest');
  t.equal(await answer, '123456');
  t.equal(io.stderr.text, 'MFA code for arn:aws:iam::1:mfa/me: ');
  t.equal(stdin.listenerCount('data'), 0, 'listeners removed');
});

t.test('a named profile on a terminal gets an MFA code provider that prompts; no terminal, none', async (t) => {
  const { awsSettingsFor } = await import('../../src/cli/aws-settings.js');
  const { DEFAULT_CONFIG } = await import('../../src/config/index.js');
  const config = { ...DEFAULT_CONFIG, defaults: { ...DEFAULT_CONFIG.defaults, profile: 'ops' } };
  const io = new CapturedIo({ cwd: '/' });
  const stdin = new PassThrough();
  Object.assign(io, { stdin, stdinIsTTY: true });
  const settings = await awsSettingsFor(io, config);
  t.equal(settings.profile, 'ops');
  t.equal(settings.credentials, undefined, 'the SDK chain resolves the profile (aws/ layer)');
  const ask = settings.mfaCodeProvider?.('arn:aws:iam::1:mfa/me');
  stdin.write('654321\n');
  t.equal(await ask, '654321');
  t.equal(io.stderr.text, 'MFA code for arn:aws:iam::1:mfa/me: ');
  const piped = new CapturedIo({ cwd: '/' });
  t.equal((await awsSettingsFor(piped, config)).mfaCodeProvider, undefined, 'no prompt without a terminal');
});
