/**
 * Background mode, crash safety and access: kill -9 then `up -d` recovers (stale socket and pid
 * file replaced); concurrent `up -d` start one process; SIGTERM stops everything cleanly;
 * another protocol version gets a clear message both ways; another user is refused.
 */
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { startEchoServer } from '../helpers/loopback.js';
import { BIN, isAlive, sandbox, waitDead } from '../helpers/background.js';
import { otherUserSkip } from '../helpers/other-user.js';
import type { Sandbox } from '../helpers/background.js';

const INSTANCE = 'i-0123456789abcdef0';

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
});

async function emulator(t: Test): Promise<Emulator> {
  const emu = await startEmulator({ pacing: 'none' });
  t.teardown(() => emu.close());
  return emu;
}

async function setup(t: Test): Promise<{ emu: Emulator; sb: Sandbox; echoPort: number }> {
  const emu = await emulator(t);
  const echoPort = (await startEchoServer(t)).port;
  const sb = sandbox(t, emu);
  sb.writeConfig(`forwards:
  web:
    target: ${INSTANCE}
    remotePort: ${echoPort}
    localPort: auto
`);
  return { emu, sb, echoPort };
}

async function echoOnce(port: number, text: string): Promise<string> {
  const s = createConnection({ host: '127.0.0.1', port });
  await once(s, 'connect');
  s.write(text);
  let got = '';
  for (let i = 0; i < 1000 && got.length < text.length; i++) got += String(((await once(s, 'data')) as [Buffer])[0]);
  s.destroy();
  return got;
}

function port(stdout: string): number {
  const m = /^web\s+127\.0\.0\.1:(\d+) /m.exec(stdout);
  if (m === null) throw new Error(`no ready line: ${stdout}`);
  return Number(m[1]);
}

t.test('kill -9 of the background process: the next up -d replaces the stale socket and recovers', async (t) => {
  const { sb } = await setup(t);
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, up.stderr);
  const pid = sb.pid() ?? 0;
  t.ok(isAlive(pid));
  process.kill(pid, 'SIGKILL');
  t.ok(await waitDead(pid), 'killed');
  t.ok(existsSync(join(sb.dir, 'tunnel.sock')), 'the killed process left its socket behind');
  const st = await sb.run(['status']);
  t.equal(st.code, 69, 'status: not running (stale socket)');

  const up2 = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up2.code, 0, up2.stderr);
  t.match(up2.stderr, /started the background process/);
  const pid2 = sb.pid() ?? 0;
  t.not(pid2, pid);
  t.ok(isAlive(pid2));
  t.equal(await echoOnce(port(up2.stdout), 'after recovery'), 'after recovery');
  t.equal((await sb.run(['down', '--all'])).code, 0);
});

t.test('three concurrent up -d start exactly one background process', async (t) => {
  const { sb } = await setup(t);
  const results = await Promise.all([1, 2, 3].map(() => sb.run(['up', '-d', '--no-user-config'])));
  for (const r of results) t.equal(r.code, 0, r.stderr);
  t.equal(results.filter((r) => /started the background process/.test(r.stderr)).length, 1, 'one of them started it');
  const daemons = sb.daemons();
  t.equal(daemons.length, 1, `one tunnel daemon process (${daemons.join(', ')})`);
  t.equal(daemons[0], sb.pid());
  const ports = new Set(results.map((r) => port(r.stdout)));
  t.equal(ports.size, 1, 'all three got the same forward');
  const st = JSON.parse((await sb.run(['status', '--json'])).stdout) as { forwards: unknown[] };
  t.equal(st.forwards.length, 1);
});

t.test('SIGTERM stops every forward (TerminateSession), removes socket and pid file', async (t) => {
  const { emu, sb } = await setup(t);
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, up.stderr);
  const pid = sb.pid() ?? 0;
  process.kill(pid, 'SIGTERM');
  t.ok(await waitDead(pid));
  t.notOk(existsSync(join(sb.dir, 'tunnel.sock')), 'socket removed');
  t.notOk(existsSync(join(sb.dir, 'tunnel.pid')), 'pid file removed');
  t.equal(emu.state.calls.filter((c) => c.operation === 'TerminateSession' && c.errorCode === undefined).length, 1);
  const logs = await sb.run(['logs']);
  t.match(logs.stdout, /SIGTERM: stopping every forward/);
  t.match(logs.stdout, /background process: stopped/);
});

t.test('a client of another protocol version gets a clear message, both ways', async (t) => {
  const { sb } = await setup(t);
  t.equal((await sb.run(['up', '-d', '--no-user-config'])).code, 0);
  // A client speaking v99 to this server.
  const s = createConnection(join(sb.dir, 'tunnel.sock'));
  await once(s, 'connect');
  s.write(`${JSON.stringify({ v: 99, id: 1, op: 'hello', token: 'x', client: '9.9.9' })}\n`);
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (text += d));
  await once(s, 'close');
  const reply = JSON.parse(text.trim()) as {
    v: number;
    id: number;
    ok: boolean;
    error: { code: string; message: string };
  };
  t.equal(reply.ok, false);
  t.equal(reply.id, 1);
  t.equal(reply.error.code, 'ERR_DAEMON_PROTOCOL');
  t.match(reply.error.message, /speaks control protocol v1, the client sent v99/);
  t.equal((await sb.run(['down', '--all'])).code, 0);

  // This client against a server speaking v7 (an older or newer tunnel).
  const sock = join(sb.dir, 'tunnel.sock');
  writeFileSync(join(sb.dir, 'token'), 'tok\n', { mode: 0o600 });
  const fake = createServer((c) => {
    c.on('data', () => c.write(`${JSON.stringify({ v: 7, id: 1, ok: true, server: '7.0.0', pid: 1 })}\n`));
  });
  fake.listen(sock);
  await once(fake, 'listening');
  t.teardown(() => fake.close());
  const st = await sb.run(['status']);
  t.equal(st.code, 69);
  t.match(st.stderr, /speaks control protocol v7, this tunnel speaks v1.*\[ERR_DAEMON_PROTOCOL\]/);
  // Not mistaken for "not running": up -d must not start a second process over it either.
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 69);
  t.match(up.stderr, /ERR_DAEMON_PROTOCOL/);
});

/**
 * `node ARGS` as uid/gid 65534 (nobody) with exactly `env` (`env -i`: nothing of this test
 * process's environment, such as tap's coverage hooks, reaches a process that could not write
 * their files).
 */
function asNobody(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const vars = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  const child = spawn('/usr/bin/env', ['-i', ...vars, process.execPath, ...args], {
    uid: 65534,
    gid: 65534,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

t.test(
  'a stopped (SIGSTOP) background process: commands say it does not answer; up -d does not start a second',
  async (t) => {
    const { sb } = await setup(t);
    t.equal((await sb.run(['up', '-d', '--no-user-config'])).code, 0);
    const pid = sb.pid() ?? 0;
    process.kill(pid, 'SIGSTOP');
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone.
      }
    });
    sb.env['TUNNEL_CONTROL_TIMEOUT_MS'] = '1500';
    const st = await sb.run(['status']);
    t.equal(st.code, 69);
    t.match(st.stderr, /does not answer \(stopped or hung\?\)/);
    const up = await sb.run(['up', '-d', '--no-user-config']);
    t.equal(up.code, 69, up.stderr);
    t.match(up.stderr, /does not answer/);
    t.same(sb.daemons(), [pid], 'no second process');
    process.kill(pid, 'SIGCONT');
    delete sb.env['TUNNEL_CONTROL_TIMEOUT_MS'];
    const st2 = await sb.run(['status']);
    t.equal(st2.code, 0, 'answers again after SIGCONT');
    // Garbage on the control socket: an error reply, the process carries on.
    const s = createConnection(join(sb.dir, 'tunnel.sock'));
    await once(s, 'connect');
    s.write('this is not json\n');
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    await once(s, 'close');
    t.match(text, /"code":"ERR_DAEMON_PROTOCOL"/);
    t.equal((await sb.run(['status'])).code, 0, 'still serving');
    t.equal((await sb.run(['down', '--all'])).code, 0);
  },
);

t.test('another user is refused', { skip: otherUserSkip(BIN) }, async (t) => {
  const { sb } = await setup(t);
  t.equal((await sb.run(['up', '-d', '--no-user-config'])).code, 0);
  // The CLI as uid 65534 (nobody) with the same runtime directory: the directory is not theirs.
  const other = await asNobody([BIN, 'status'], sb.env, sb.project);
  t.equal(other.code, 77, other.stderr);
  t.match(other.stderr, /belongs to (uid 0, not to you \(uid 65534\)|another user).*\[ERR_DAEMON_ACCESS\]/);
  // Even with the directory and socket opened up (a misconfiguration), the server refuses a
  // peer that cannot read the 0600 token file.
  chmodSync(dirname(sb.runtime), 0o755);
  chmodSync(sb.runtime, 0o755);
  chmodSync(sb.dir, 0o711);
  chmodSync(join(sb.dir, 'tunnel.sock'), 0o666);
  const script = `
    const s = require('node:net').createConnection(process.argv[1]);
    let out = '';
    s.on('connect', () => s.write(JSON.stringify({ v: 1, id: 1, op: 'hello', token: 'guess', client: 'x' }) + '\\n'));
    s.on('data', (d) => (out += d));
    s.on('close', () => { process.stdout.write(out); });
    s.on('error', (e) => { process.stdout.write('error ' + e.code); });
  `;
  const out = (await asNobody(['-e', script, join(sb.dir, 'tunnel.sock')], sb.env, '/')).stdout;
  const reply = JSON.parse(out) as { ok: boolean; error: { code: string } };
  t.equal(reply.ok, false);
  t.equal(reply.error.code, 'ERR_DAEMON_ACCESS');
  // The token file itself is unreadable to them.
  const read = (
    await asNobody(
      [
        '-e',
        `try { require('fs').readFileSync(process.argv[1]); console.log('read') } catch (e) { console.log(e.code) }`,
        join(sb.dir, 'token'),
      ],
      sb.env,
      '/',
    )
  ).stdout.trim();
  t.equal(read, 'EACCES');
  chmodSync(sb.dir, 0o700);
  const logs = readFileSync(join(sb.dir, 'tunnel.log'), 'utf8');
  t.match(logs, /refused a connection that did not present the token/);
  t.equal((await sb.run(['down', '--all'])).code, 0);
});

t.test('a stale start lock of a killed starter is taken over', async (t) => {
  const { sb } = await setup(t);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(sb.dir, { recursive: true, mode: 0o700 });
  // pid 2^22+1 is above Linux's pid_max default range: not alive.
  writeFileSync(join(sb.dir, 'start.lock'), '4194305 deadbeef\n');
  const up = await sb.run(['up', '-d', '--no-user-config']);
  t.equal(up.code, 0, up.stderr);
  t.notOk(existsSync(join(sb.dir, 'start.lock')), 'lock released');
  t.equal((await sb.run(['down', '--all'])).code, 0);
  unlinkSync(join(sb.dir, 'tunnel.log'));
});
