/**
 * What a new user meets first, through the built CLI as a subprocess (issue 12): help instead of
 * an error, a suggestion for a mistyped command, one report per failure with its hint, a clean
 * environment for `tunnel run`'s command, and the exit status of a Ctrl-C.
 */
import t from 'tap';
import type { Test } from 'tap';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { tunnel } from '../helpers/cli-proc.js';
import { emulatorAwsEnv } from '../helpers/emulator.js';
import { startEchoServer } from '../helpers/loopback.js';

const SDK_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

async function emulator(t: Test): Promise<Emulator> {
  const emu = await startEmulator({ pacing: 'none' });
  t.teardown(() => emu.close());
  return emu;
}

t.test('bare `tunnel` prints the help on stdout and exits 0; `tunnel tragets` suggests targets', async (t) => {
  const bare = tunnel(t, [], { cwd: t.testdir({}) });
  t.equal((await bare.exit).code, 0);
  t.match(bare.stdout(), /Commands:[\s\S]*tunnel up/);
  t.equal(bare.stderr(), '');
  const typo = tunnel(t, ['tragets'], { cwd: t.testdir({}) });
  t.equal((await typo.exit).code, 2);
  t.match(typo.stderr(), /unknown command "tragets": did you mean `tunnel targets`\?/);
});

t.test("`tunnel run`: the command's environment is the user's, without tunnel's own SDK setting", async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const script = `console.log(JSON.stringify({ v: process.env.${SDK_WARNING} ?? null }))`;
  const args = ['run', `demo:${port}:auto`, '--', process.execPath, '-e', script];
  const clean = tunnel(t, args, { cwd: t.testdir({}), env: emulatorAwsEnv(emu) });
  t.equal((await clean.exit).code, 0, clean.stderr());
  t.same(JSON.parse(clean.stdout().trim()), { v: null }, 'not set by tunnel');
  t.notMatch(clean.stderr(), /NodeVersionSupportWarning/, 'tunnel itself still does not warn');
  // A user who set it keeps it.
  const own = tunnel(t, args, { cwd: t.testdir({}), env: emulatorAwsEnv(emu, { [SDK_WARNING]: 'true' }) });
  t.equal((await own.exit).code, 0, own.stderr());
  t.same(JSON.parse(own.stdout().trim()), { v: 'true' });
});

t.test('a refused destination: one failure line with its hint, saying it happened on the instance', async (t) => {
  const emu = await emulator(t);
  const p = tunnel(t, ['demo:169.254.169.254:80:auto'], { cwd: t.testdir({}), env: emulatorAwsEnv(emu) });
  const { code } = await p.exit;
  t.equal(code, 77);
  const err = p.stderr();
  t.equal(err.match(/is forbidden/g)?.length, 1, `said once:\n${err}`);
  t.equal(err.match(/hint:/g)?.length, 1, 'one hint');
  t.match(err, /demo: failed: refused on the instance: Forwarding to IP address 169\.254\.169\.254 is forbidden\./);
  t.notMatch(err, /^tunnel: /m, 'no second `tunnel:` line');
});

t.test('a lazy forward is idle until used; Ctrl-C of a healthy forward exits 0', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const dir = t.testdir({
    '.tunnel.yaml': `forwards:\n  echo: { target: i-0123456789abcdef0, remotePort: ${port}, localPort: auto, lazy: true }\n`,
  });
  const p = tunnel(t, ['up'], { cwd: dir, env: emulatorAwsEnv(emu) });
  await p.waitOut(/^echo\s+127\.0\.0\.1:\d+ .* \(idle: connects on first use\)$/m);
  t.equal(emu.state.calls.filter((c) => c.operation === 'StartSession').length, 0, 'no session yet');
  p.child.kill('SIGINT');
  t.equal((await p.exit).code, 0);
});

t.test(
  'the service goes away: reconnect lines by default, refused connections said, Ctrl-C exits non-zero',
  async (t) => {
    const emu = await emulator(t);
    const port = (await startEchoServer(t)).port;
    const p = tunnel(t, [`demo:${port}:auto`], { cwd: t.testdir({}), env: emulatorAwsEnv(emu) });
    const m = await p.waitOut(/^demo\s+127\.0\.0\.1:(\d+)/m);
    await emu.close();
    await p.waitErr(/demo: reconnecting/);
    await p.waitErr(/retrying in/);
    // A client arriving during the outage is told (its socket closes) and the log says so.
    const { connect } = await import('node:net');
    for (let i = 0; i < 3 && !/demo: connection \d+: refused/.test(p.stderr()); i++) {
      const s = connect({ host: '127.0.0.1', port: Number(m[1]) });
      s.on('error', () => undefined);
      await new Promise((resolve) => s.once('close', resolve));
      await p.waitErr(/retrying in[\s\S]*retrying in/);
    }
    t.match(p.stderr(), /demo: connection \d+: refused: no session to the instance \(reconnecting\)/);
    p.child.kill('SIGINT');
    const { code } = await p.exit;
    t.not(code, 0, 'interrupted while down: not a success');
    t.match(
      p.stderr(),
      /tunnel: demo: .*\[ERR_AWS_ENDPOINT_UNREACHABLE\]/,
      'the reason it was down, once more at exit',
    );
  },
);

t.test('ad-hoc SPECs take --sessions, --reason and --lazy like config forwards', async (t) => {
  const emu = await emulator(t);
  const port = (await startEchoServer(t)).port;
  const p = tunnel(t, [`demo:${port}:auto`, '--sessions', '2', '--reason', 'issue 12 check'], {
    cwd: t.testdir({}),
    env: emulatorAwsEnv(emu),
  });
  await p.waitOut(/^demo\s+127\.0\.0\.1:\d+/m);
  p.child.kill('SIGINT');
  t.equal((await p.exit).code, 0, p.stderr());
  const starts = emu.state.calls.filter((c) => c.operation === 'StartSession');
  t.equal(starts.length, 2, 'two sessions');
  for (const c of starts) t.match(c.request, { Reason: 'issue 12 check' });

  const lazy = tunnel(t, [`demo:${port}:auto`, '--lazy'], { cwd: t.testdir({}), env: emulatorAwsEnv(emu) });
  await lazy.waitOut(/\(idle: connects on first use\)/);
  t.equal(emu.state.calls.filter((c) => c.operation === 'StartSession').length, 2, 'no session until used');
  lazy.child.kill('SIGINT');
  t.equal((await lazy.exit).code, 0);

  const bad = tunnel(t, [`demo:${port}:auto`, '--sessions', 'many'], { cwd: t.testdir({}), env: emulatorAwsEnv(emu) });
  t.equal((await bad.exit).code, 2);
  t.match(bad.stderr(), /--sessions: "many" is not a valid session count/);
});

t.test('the demo says in one line why download and upload rates differ', async (t) => {
  const p = tunnel(t, ['demo', '--once'], { cwd: t.testdir({}) });
  t.equal((await p.exit).code, 0, p.stderr());
  const lines = p
    .stderr()
    .split('\n')
    .filter((l) => /paced/.test(l));
  t.equal(lines.length, 1);
  t.match(lines[0], /downloads are paced like the real agent \(1024 B\/1 ms, ~1 MB\/s\); uploads are not/);
  t.ok((lines[0] ?? '').length <= 80, 'fits a terminal line');
});
