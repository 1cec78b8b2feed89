/**
 * Background mode with the rest of the CLI: `tunnel run` uses a forward already up in the
 * background; forwards from two projects share one process and `down` in a project stops only
 * its own; `logs -f` follows until the process ends; `tunnel daemon --keep` (what a service
 * runs) stays up while empty; `tunnel service install` writes the unit file.
 */
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { startEchoServer } from '../helpers/loopback.js';
import { BIN, isAlive, sandbox, waitDead } from '../helpers/background.js';

const INSTANCE = 'i-0123456789abcdef0';

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
});

async function emulator(t: Test): Promise<Emulator> {
  const emu = await startEmulator({ pacing: 'none' });
  t.teardown(() => emu.close());
  return emu;
}

const forwardYaml = (name: string, port: number): string =>
  `forwards:\n  ${name}:\n    target: ${INSTANCE}\n    remotePort: ${port}\n    localPort: auto\n`;

function readyPort(stdout: string, name: string): number {
  const m = new RegExp(`^${name}\\s+127\\.0\\.0\\.1:(\\d+) `, 'm').exec(stdout);
  if (m === null) throw new Error(`no ready line for ${name}: ${stdout}`);
  return Number(m[1]);
}

t.test('tunnel run uses the forward already up in the background', async (t) => {
  const emu = await emulator(t);
  const echo = await startEchoServer(t);
  const sb = sandbox(t, emu);
  sb.writeConfig(forwardYaml('web', echo.port));
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, up.stderr);
  const bgPort = readyPort(up.stdout, 'web');
  const starts = emu.state.calls.filter((c) => c.operation === 'StartSession').length;
  const run = await sb.run([
    'run',
    'web',
    '--no-user-config',
    '--',
    process.execPath,
    '-e',
    'console.log("port=" + process.env.TUNNEL_WEB_PORT + " arg={web.port}")',
  ]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, `port=${bgPort} arg=${bgPort}`);
  t.match(run.stderr, /^web\s+127\.0\.0\.1:\d+ .*\(background\)$/m);
  t.equal(emu.state.calls.filter((c) => c.operation === 'StartSession').length, starts, 'no second session');
  const run2 = await sb.run([
    'run',
    'web',
    '--no-user-config',
    '--',
    process.execPath,
    '-e',
    'console.log(process.argv[1])',
    '{web.port}',
  ]);
  t.equal(run2.stdout.trim(), String(bgPort), 'placeholders expand to the background forward');
  const st = await sb.run(['status']);
  t.equal(st.code, 0, 'still up in the background after run');

  // status --watch --json: one snapshot per refresh until SIGINT.
  const watch = spawn(process.execPath, [BIN, 'status', '--watch', '--json'], {
    cwd: sb.project,
    env: sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => watch.kill('SIGKILL'));
  const watchEnd = once(watch, 'close') as Promise<[number]>;
  let snaps = '';
  await new Promise<void>((resolve) =>
    watch.stdout.on('data', (d: Buffer) => {
      snaps += d.toString();
      if (snaps.split('\n').length > 2) resolve();
    }),
  );
  watch.kill('SIGINT');
  t.equal((await watchEnd)[0], 0, 'watch ends on SIGINT with the last status');
  const lines = snaps
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; forwards: Array<{ state: string }> });
  t.ok(lines.length >= 2);
  t.ok(lines.every((l) => l.type === 'status' && l.forwards[0]?.state === 'ready'));
  t.equal((await sb.run(['down', '--all'])).code, 0);
});

t.test('two projects in one process; down in a project stops only its own; logs -f follows', async (t) => {
  const emu = await emulator(t);
  const echo = await startEchoServer(t);
  const sb = sandbox(t, emu);
  sb.writeConfig(forwardYaml('api', echo.port));
  const other = join(sb.project, '..', 'other');
  mkdirSync(other);
  writeFileSync(join(other, '.tunnel.yaml'), forwardYaml('cache', echo.port));

  t.equal((await sb.run(['up', '-d', '--no-user-config'])).code, 0);
  const pid = sb.pid();
  const up2 = await sb.run(['up', '-d', '--no-user-config'], { cwd: other });
  t.equal(up2.code, 0, up2.stderr);
  t.notMatch(up2.stderr, /started the background process/, 'the second project joins the running process');
  t.equal(sb.pid(), pid);
  const st = JSON.parse((await sb.run(['status', '--json'])).stdout) as {
    forwards: Array<{ name: string; project: string }>;
  };
  t.same(
    st.forwards.map((f) => [f.name, f.project]),
    [
      ['api', join(sb.project, '.tunnel.yaml')],
      ['cache', join(other, '.tunnel.yaml')],
    ],
  );
  const table = await sb.run(['status']);
  t.match(table.stdout, /other\s+cache/);

  // Follow the log from now on.
  const follow = spawn(process.execPath, [BIN, 'logs', '-f'], {
    cwd: sb.project,
    env: sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => follow.kill('SIGKILL'));
  // Listen for its end from the start: it may end before the `down --all` below returns.
  const followEnd = once(follow, 'close') as Promise<[number]>;
  let followed = '';
  const sawStart = new Promise<void>((resolve) =>
    follow.stdout.on('data', (d: Buffer) => {
      followed += d.toString();
      if (/background process: started/.test(followed)) resolve();
    }),
  );
  await sawStart;

  const down = await sb.run(['down', '--no-user-config'], { cwd: other });
  t.equal(down.code, 0, down.stderr);
  t.match(down.stdout, /^cache: stopped$/m);
  const st2 = JSON.parse((await sb.run(['status', '--json'])).stdout) as typeof st;
  t.same(
    st2.forwards.map((f) => f.name),
    ['api'],
    'the first project is untouched',
  );
  t.equal((await sb.run(['down', '--all'])).code, 0);
  const [code] = await followEnd;
  t.equal(code, 0, 'logs -f ends when the background process does');
  t.match(followed, /cache: stopping \(`tunnel down`\)/, 'live lines');
  t.match(followed, /api: stopping/);
  t.match(followed, /background process: stopped/);
  const seqLines = followed.split('\n').filter((l) => /background process: started/.test(l));
  t.equal(seqLines.length, 1, 'no line printed twice');
});

t.test('tunnel daemon --keep stays up while empty; up -d uses it; SIGTERM ends it', async (t) => {
  const emu = await emulator(t);
  const echo = await startEchoServer(t);
  const sb = sandbox(t, emu);
  sb.writeConfig(forwardYaml('web', echo.port));
  const d = spawn(process.execPath, [BIN, 'daemon', '--keep'], {
    cwd: sb.project,
    env: sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => d.kill('SIGKILL'));
  const dEnd = once(d, 'close') as Promise<[number]>;
  let err = '';
  await new Promise<void>((resolve) =>
    d.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      if (/listening on/.test(err)) resolve();
    }),
  );
  t.match(err, /background process listening on .*tunnel\.sock \(pid \d+\)/);
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, up.stderr);
  t.notMatch(up.stderr, /started the background process/);
  t.equal(sb.pid(), d.pid);
  t.equal((await sb.run(['down', '--all'])).code, 0);
  t.ok(isAlive(d.pid ?? 0), '--keep: still running while empty');
  t.equal((await sb.run(['status'])).code, 1, 'running, holding nothing: not "all ready"');
  d.kill('SIGTERM');
  const [code] = await dEnd;
  t.equal(code, 0);
  t.notOk(existsSync(join(sb.dir, 'tunnel.sock')));
  t.ok(await waitDead(d.pid ?? 0));
});

t.test('tunnel service install writes a systemd user unit; uninstall removes it', async (t) => {
  const emu = await emulator(t);
  const sb = sandbox(t, emu);
  const inst = await sb.run(['service', 'install', '--kind', 'systemd']);
  t.equal(inst.code, 0, inst.stderr);
  const unit = join(sb.home, '.config', 'systemd', 'user', 'tunnel.service');
  t.match(inst.stdout, `wrote ${unit}`);
  t.match(inst.stderr, /systemctl --user enable --now tunnel\.service/);
  const text = readFileSync(unit, 'utf8');
  t.match(
    text,
    new RegExp(
      `^ExecStart=${process.execPath.replace(/[.]/g, '\\.')} ${BIN.replace(/[.]/g, '\\.')} daemon --keep$`,
      'm',
    ),
  );
  t.notMatch(text, /AWS_|SECRET/, 'no credentials in the unit');
  const plist = await sb.run(['service', 'install', '--kind', 'launchd', '--stdout']);
  t.match(plist.stdout, /<key>ProgramArguments<\/key>/);
  t.notOk(existsSync(join(sb.home, 'Library')), '--stdout writes nothing');
  const un = await sb.run(['service', 'uninstall', '--kind', 'systemd']);
  t.equal(un.code, 0);
  t.notOk(existsSync(unit));
});
