/**
 * Background mode through the built CLI, against an emulator in this process, with a private
 * HOME and XDG_RUNTIME_DIR: `up -d` → `status` → sha256-checked traffic → edit the config and
 * `up -d` again (only the changed forward restarts; an open connection on the unchanged one
 * keeps working) → `logs` → `down NAME` → `down --all` (process gone, no socket left).
 */
import t from 'tap';
import type { Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { startEchoServer } from '../helpers/loopback.js';
import { BIN, isAlive, sandbox } from '../helpers/background.js';

const SECRET_MARK = 'SECRETMARKERbgxyzzy0123456789abcdefghijk';
const INSTANCE = 'i-0123456789abcdef0';

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
});

async function emulator(t: Test): Promise<Emulator> {
  const emu = await startEmulator({
    credentials: { accessKeyId: 'AKIABGTEST0000000001', secretAccessKey: SECRET_MARK },
    pacing: 'none',
  });
  t.teardown(() => emu.close());
  return emu;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Send `payload` through the forward to the echo server and return what came back. */
async function echo(port: number, payload: Buffer): Promise<Buffer> {
  const s = connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  const got = await exchange(s, payload);
  s.destroy();
  return got;
}

async function exchange(s: Socket, payload: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  const done = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      chunks.push(d);
      n += d.length;
      if (n >= payload.length) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed after ${n} of ${payload.length} bytes`)));
  });
  s.write(payload);
  await done;
  s.removeAllListeners('close');
  return Buffer.concat(chunks);
}

function portOf(stdout: string, name: string): number {
  const m = new RegExp(`^${name}\\s+127\\.0\\.0\\.1:(\\d+) `, 'm').exec(stdout);
  if (m === null) throw new Error(`no ready line for ${name} in:\n${stdout}`);
  return Number(m[1]);
}

function config(echoA: number, echoB: number): string {
  return `forwards:
  alpha:
    target: ${INSTANCE}
    remotePort: ${echoA}
    localPort: auto
  beta:
    target: ${INSTANCE}
    remotePort: ${echoB}
    localPort: auto
`;
}

t.test('up -d, status, traffic, reload of one forward, logs, down NAME, down --all', async (t) => {
  const emu = await emulator(t);
  const echo1 = await startEchoServer(t);
  const echo2 = await startEchoServer(t);
  const sb = sandbox(t, emu);
  sb.writeConfig(config(echo1.port, echo1.port));

  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, up.stderr);
  t.match(up.stderr, /started the background process \(pid \d+\)/);
  const alphaPort = portOf(up.stdout, 'alpha');
  const betaPort = portOf(up.stdout, 'beta');
  t.match(
    up.stdout,
    new RegExp(
      `^alpha\\s+127\\.0\\.0\\.1:${alphaPort} \\[::1\\]:${alphaPort} -> ${INSTANCE} localhost:${echo1.port}$`,
      'm',
    ),
  );
  const pid = sb.pid();
  t.ok(pid !== undefined && isAlive(pid), 'the background process runs after up -d returned');
  t.equal(readFileSync(join(sb.dir, 'tunnel.sock').replace(/tunnel\.sock$/, 'tunnel.pid'), 'utf8').trim(), String(pid));

  // The control socket and its directory are private.
  const { statSync } = await import('node:fs');
  t.equal(statSync(sb.dir).mode & 0o777, 0o700, 'runtime dir 0700');
  t.equal(statSync(join(sb.dir, 'tunnel.sock')).mode & 0o777, 0o600, 'socket 0600');
  t.equal(statSync(join(sb.dir, 'token')).mode & 0o777, 0o600, 'token 0600');

  const st = await sb.run(['status']);
  t.equal(st.code, 0, `status exit 0 when all are ready\n${st.stdout}${st.stderr}`);
  t.match(st.stdout, /PROJECT\s+FORWARD\s+LOCAL\s+TARGET\s+STATE/);
  t.match(st.stdout, new RegExp(`alpha\\s+127\\.0\\.0\\.1:${alphaPort}.*ready`));
  t.match(st.stdout, new RegExp(`beta\\s+127\\.0\\.0\\.1:${betaPort}.*ready`));

  const stJson = await sb.run(['status', '--json']);
  const snap = JSON.parse(stJson.stdout) as {
    pid: number;
    forwards: Array<{ name: string; state: string; project: string; sessions: Array<{ sessionId: string }> }>;
  };
  t.equal(snap.pid, pid);
  t.same(
    snap.forwards.map((f) => [f.name, f.state]),
    [
      ['alpha', 'ready'],
      ['beta', 'ready'],
    ],
  );
  t.equal(snap.forwards[0]?.project, join(sb.project, '.tunnel.yaml'), 'each forward remembers its config file');
  const alphaSession = snap.forwards[0]?.sessions[0]?.sessionId;

  // Traffic, sha256-checked, through both.
  const payload = randomBytes(512 * 1024);
  t.equal(sha(await echo(alphaPort, payload)), sha(payload), 'alpha: 512 KiB echoed intact');
  t.equal(sha(await echo(betaPort, payload)), sha(payload), 'beta: 512 KiB echoed intact');

  // An open connection on alpha, used before and after the reload.
  const open = connect({ host: '127.0.0.1', port: alphaPort });
  // Still open when `down --all` stops alpha: a stopped forward resets it (never a clean end).
  const openErrors: string[] = [];
  open.on('error', (e: NodeJS.ErrnoException) => openErrors.push(e.code ?? e.message));
  await once(open, 'connect');
  t.teardown(() => open.destroy());
  const before = randomBytes(64 * 1024);
  t.equal(sha(await exchange(open, before)), sha(before), 'open connection works before the reload');

  // Edit: beta now goes to the second echo server. up -d again applies only that.
  sb.writeConfig(config(echo1.port, echo2.port));
  const up2 = await sb.run(['up', '-d', '--no-user-config', '--json']);
  t.equal(up2.code, 0, up2.stderr);
  const events = up2.stdout
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { type: string; forward?: string; action?: string; addresses?: Array<{ port: number }> },
    );
  t.same(
    events.filter((e) => e.type === 'change').map((e) => [e.forward, e.action]),
    [
      ['alpha', 'unchanged'],
      ['beta', 'restarted'],
    ],
    'only beta restarted',
  );
  t.equal(sb.pid(), pid, 'the same background process');
  const newBeta = events.find((e) => e.type === 'ready' && e.forward === 'beta')?.addresses?.[0]?.port;
  t.ok(newBeta !== undefined);
  const after = randomBytes(64 * 1024);
  t.equal(sha(await exchange(open, after)), sha(after), 'the open connection on unchanged alpha still works');
  t.equal(sha(await echo(newBeta ?? 0, payload)), sha(payload), 'beta works after its restart');
  t.ok(echo2.sockets.size + 0 >= 0);

  const st2 = JSON.parse((await sb.run(['status', '--json'])).stdout) as typeof snap;
  t.equal(st2.forwards.find((f) => f.name === 'alpha')?.sessions[0]?.sessionId, alphaSession, 'alpha kept its session');

  const logs = await sb.run(['logs']);
  t.equal(logs.code, 0);
  t.match(logs.stdout, /beta: changed in the config: restarting/);
  t.match(logs.stdout, /alpha: unchanged: left alone/);
  t.match(logs.stdout, /beta: session \S+ ended: terminated/);
  const betaLogs = await sb.run(['logs', 'beta', '--json']);
  const betaRecords = betaLogs.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { forward?: string });
  t.ok(betaRecords.length > 3 && betaRecords.every((r) => r.forward === 'beta'), 'logs NAME: only that forward');
  const logText = readFileSync(join(sb.dir, 'tunnel.log'), 'utf8');
  t.notMatch(logText, SECRET_MARK, 'no secret in the log');
  t.notMatch(up.stdout + up.stderr + st.stdout + logs.stdout, SECRET_MARK, 'no secret in any output');

  const terminatedBefore = emu.state.calls.filter((c) => c.operation === 'TerminateSession').length;
  const down1 = await sb.run(['down', 'beta']);
  t.equal(down1.code, 0, down1.stderr);
  t.match(down1.stdout, /^beta: stopped$/m);
  t.equal(
    emu.state.calls.filter((c) => c.operation === 'TerminateSession').length,
    terminatedBefore + 1,
    'TerminateSession for beta',
  );
  const st3 = JSON.parse((await sb.run(['status', '--json'])).stdout) as typeof snap;
  t.same(
    st3.forwards.map((f) => f.name),
    ['alpha'],
  );
  const unknown = await sb.run(['down', 'nope']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no background forward named nope \(running: alpha\) \[ERR_DAEMON_NO_SUCH_FORWARD\]/);

  const downAll = await sb.run(['down', '--all']);
  t.equal(downAll.code, 0, downAll.stderr);
  t.match(downAll.stdout, /^alpha: stopped$/m);
  t.notOk(isAlive(pid ?? 0), 'the background process is gone when down --all returns');
  if (!open.destroyed) await once(open, 'close');
  t.same(openErrors, ['ECONNRESET'], 'the connection still open on alpha was reset by the stop');
  t.notOk(existsSync(join(sb.dir, 'tunnel.sock')), 'no socket left');
  t.notOk(existsSync(join(sb.dir, 'tunnel.pid')), 'no pid file left');
  t.equal(emu.state.calls.filter((c) => c.operation === 'TerminateSession').length, terminatedBefore + 2);

  const gone = await sb.run(['status']);
  t.equal(gone.code, 69);
  t.match(gone.stderr, /no background tunnel process is running .*\[ERR_DAEMON_NOT_RUNNING\]/);
  const again = await sb.run(['down', '--all']);
  t.equal(again.code, 0, 'down --all with nothing running is fine');
});

t.test('status exit 1 while a forward is not ready; down with no names stops this project only', async (t) => {
  const emu = await emulator(t);
  const echo1 = await startEchoServer(t);
  const sb = sandbox(t, emu);
  // "lazy" forwards are idle (usable) until used; an unknown target fails for good.
  sb.writeConfig(`forwards:
  good:
    target: ${INSTANCE}
    remotePort: ${echo1.port}
    localPort: auto
  bad:
    target: { name: no-such-name }
    remotePort: 80
    localPort: auto
`);
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, 'without --wait one ready forward is enough, as in the foreground');
  t.match(up.stderr, /bad: failed: /);
  const st = await sb.run(['status']);
  t.equal(st.code, 1, 'not everything is ready');
  t.match(st.stdout, /bad .*failed\s+.*ERR_TUNNEL_TARGET_NOT_FOUND/);

  const upWait = await sb.run(['up', '-d', '--wait', '--no-user-config']);
  t.equal(upWait.code, 69, `--wait: the failed forward's status (${upWait.stderr})`);
  t.match(upWait.stderr, /ERR_TUNNEL_TARGET_NOT_FOUND/);

  const down = await sb.run(['down']);
  t.equal(down.code, 0, down.stderr);
  t.match(down.stdout, /good: stopped/);
  t.match(down.stdout, /bad: stopped/);
});
