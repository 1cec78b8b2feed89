import t from 'tap';
import { PassThrough } from 'node:stream';
import { ConfigError, TunnelError } from '../../src/errors.js';
import type { ForwardStatus } from '../../src/tunnel/events.js';
import { createRenderer, describeEvent, statusLines, statusRows } from '../../src/cli/output/renderer.js';
import { formatAddress, formatBytes, formatRate, table } from '../../src/cli/output/format.js';
import { maskSecrets, maskingStream, redactKeys, secretsFromEnv, REDACTED } from '../../src/cli/output/redact.js';
import { adviceFor, markShown, reportError } from '../../src/cli/report.js';
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
  t.equal(io.stdout.text, 'db  127.0.0.1:5432 -> i-0 db.internal:5432\n');
  t.equal(
    io.stderr.text,
    'db: reconnecting\ndb: ready again\ndb: the agent could not connect to db.internal:5432\ndb: failed: no [ERR_AWS_ACCESS_DENIED]\n  hint: the identity needs ssm:StartSession on the target and document (and ssm:TerminateSession, ssm:ResumeSession)\n',
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
  t.match(io.stdout.text, /FORWARD\s+LOCAL\s+REMOTE\s+STATE\s+SESS\s+CONN\s+IN\s+OUT\s+↓\/s\s+↑\/s/);
  t.match(
    io.stdout.text,
    /db\s+localhost:5432\s+db\.internal:5432 via i-0123456789abcdef0\s+idle\s+0\s+1\/3\s+2\.0K\s+10B\s+1\.5K\s+0B/,
  );
  const before = io.stdout.text.length;
  r.event(ev('warning', { message: 'hello' }));
  const redraw = io.stdout.text.slice(before);
  t.ok(redraw.startsWith('\r\x1b[2A\x1b[J'), 'back to column 0, up over the two table lines, clear');
  // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is checked
  t.match(redraw, /^\r\x1b\[2A\x1b\[Jdb: warning: hello\nFORWARD/);
  r.close([status({ state: 'stopped' })]);
  t.match(io.stdout.text.slice(-200), /stopped/);
  const narrow = statusRows([status({ addresses: [], target: undefined })]);
  t.equal(narrow[1]?.[1], '-');
  t.match(narrow[1]?.[2], / via \?$/);
});

t.test('the live table fits 80 columns, shows sessions, and a forward with no session yet as idle', async (t) => {
  const session = { sessionId: 's-1', agentVersion: '3.3.1142.0', mode: 'mux' as const, ageMs: 1 };
  const busy = status({
    name: 'reporting-replica',
    addresses: [
      { address: '127.0.0.1', port: 15432 },
      { address: '::1', port: 15433 },
    ],
    remote: 'reporting-replica.cluster-ro-abcdefghijkl.eu-west-1.rds.amazonaws.com:5432',
    sessions: [session, { ...session, sessionId: 's-2' }],
    connections: { active: 12, total: 340, failed: 0 },
    bytesIn: 3 * 1024 ** 3,
    bytesOut: 900 * 1024 ** 2,
    rateInBps: 812 * 1024,
    rateOutBps: 10 * 1024 ** 2,
  });
  const lazy = status({ name: 'cache', sessions: [], connections: { active: 0, total: 0, failed: 0 } });
  const lines = statusLines([busy, lazy], 80);
  for (const l of lines) t.ok(l.length <= 80, `${l.length} columns: ${l}`);
  const [header, row, lazyRow] = lines;
  for (const col of ['SESS', 'CONN', 'IN', 'OUT', '↓/s', '↑/s']) t.match(header, col, `${col} shown`);
  t.match(row, /…/, 'a long remote is cut');
  t.match(row, /ready\s+2\s+12\/340\s+3\.0G\s+900M\s+812K\s+10M$/, 'numbers intact');
  t.match(lazyRow, /cache\s+localhost:5432\s+.*\sidle\s+0\s+0\/0/);
  // Wide enough: nothing is cut.
  t.notMatch(statusLines([busy], 200).join('\n'), /…/);
  // TTY renderer: an 80-column terminal gets the fitted table.
  const io = new CapturedIo({ cwd: '/' });
  io.isTTY = true;
  io.stdout.columns = 80;
  createRenderer(io, { mode: 'tty', quiet: false, verbose: false }).status([busy, lazy]);
  // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are stripped
  for (const l of io.stdout.text.split('\n')) t.ok(l.replace(/\r|\x1b\[J/g, '').length <= 80);
});

t.test('reconnects, resumes and refused connections: one line each by default, hidden by -q', async (t) => {
  const events = [
    ev('session-reconnecting', { sessionId: 's-1' }),
    ev('session-resumed', { sessionId: 's-1' }),
    ev('forward-state', { state: 'reconnecting', previous: 'ready' }),
    ev('connection-closed', {
      connection: 4,
      attached: false,
      error: 'refused: no session to the instance (reconnecting)',
      code: 'ERR_TUNNEL_NOT_READY',
    }),
    ev('forward-state', { state: 'ready', previous: 'reconnecting' }),
  ];
  const io = new CapturedIo({ cwd: '/' });
  const r = createRenderer(io, { mode: 'plain', quiet: false, verbose: false });
  for (const e of events) r.event(e);
  t.equal(
    io.stderr.text,
    [
      'db: connection to the service lost; resuming the session',
      'db: session resumed',
      'db: reconnecting',
      'db: connection 4: refused: no session to the instance (reconnecting)',
      'db: ready again',
      '',
    ].join('\n'),
  );
  t.equal(io.stdout.text, '');
  const quiet = new CapturedIo({ cwd: '/' });
  const q = createRenderer(quiet, { mode: 'plain', quiet: true, verbose: false });
  for (const e of events) q.event(e);
  t.equal(quiet.stderr.text + quiet.stdout.text, '', '-q hides them');
  // Connections cut because tunnel itself is stopping are not news.
  const stopping = new CapturedIo({ cwd: '/' });
  const s = createRenderer(stopping, { mode: 'plain', quiet: false, verbose: false });
  s.stopping();
  s.event(ev('connection-closed', { connection: 5, error: 'session ended: terminated' }));
  t.equal(stopping.stderr.text, '');
});

t.test('a forward failure is printed once, with its hint; the command error is not repeated', async (t) => {
  const io = new CapturedIo({ cwd: '/' });
  const r = createRenderer(io, { mode: 'plain', quiet: false, verbose: false });
  r.event(
    ev('forward-state', {
      state: 'failed',
      code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN',
      message: 'refused on the instance: Forwarding to IP address 169.254.169.254 is forbidden.',
    }),
  );
  t.match(
    io.stderr.text,
    /^db: failed: refused on the instance: .* \[ERR_TUNNEL_REMOTE_HOST_FORBIDDEN\]\n {2}hint: .*deny list/,
  );
  const err = markShown(new TunnelError('ERR_TUNNEL_REMOTE_HOST_FORBIDDEN', 'db: refused'));
  const before = io.stderr.text;
  reportError(io, err, 77, { json: false, verbose: false });
  t.equal(io.stderr.text, before, 'nothing more on stderr');
  reportError(io, err, 77, { json: true, verbose: false });
  t.match(
    JSON.parse(io.stdout.text) as unknown,
    { type: 'error', code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN' },
    '--json still has the error event',
  );
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
  t.match(v.stderr.text, /tunnel: outer \[ERR_AWS_API\]\n {2}caused by: inner cause/);
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
  // The profile must exist in the shared config (an unknown one is ERR_AWS_UNKNOWN_PROFILE).
  const env = { HOME: t.testdir({ '.aws': { config: '[profile ops]\nregion = eu-west-1\n' } }) };
  const io = new CapturedIo({ cwd: '/', env });
  const stdin = new PassThrough();
  Object.assign(io, { stdin, stdinIsTTY: true });
  const settings = await awsSettingsFor(io, config);
  t.equal(settings.profile, 'ops');
  t.equal(settings.credentials, undefined, 'the SDK chain resolves the profile (aws/ layer)');
  const ask = settings.mfaCodeProvider?.('arn:aws:iam::1:mfa/me');
  stdin.write('654321\n');
  t.equal(await ask, '654321');
  t.equal(io.stderr.text, 'MFA code for arn:aws:iam::1:mfa/me: ');
  const piped = new CapturedIo({ cwd: '/', env });
  t.equal((await awsSettingsFor(piped, config)).mfaCodeProvider, undefined, 'no prompt without a terminal');
});
