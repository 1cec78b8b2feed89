/**
 * Secrets never reach the CLI's output, and `tunnel run` never involves a shell (issue #8).
 * Runs `node dist/bin/tunnel.js` (built by `npx tsc -p tsconfig.build.json`) against an emulator
 * in this process, with a secret key, a session token and the emulator's StartSession/Resume
 * TokenValues all recorded, then searches every byte of stdout and stderr for them.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEmulator } from '../../src/emulator/index.js';
import { cliProcessEnv } from '../helpers/emulator.js';

const root = resolve(import.meta.dirname, '..', '..');
const bin = join(root, 'dist', 'bin', 'tunnel.js');
const skip = existsSync(bin) ? false : `${bin} is not built (run npx tsc -p tsconfig.build.json)`;

interface Run {
  exit: number | null;
  out: string;
}

function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ exit: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: `${stdout}\n${stderr}` });
    });
  });
}

/** The client run under `tunnel run`: one echo round trip through the forward named `demo`. */
const CLIENT = `
const net = require('node:net');
const c = net.connect(Number(process.env.TUNNEL_DEMO_PORT), process.env.TUNNEL_DEMO_HOST);
let got = '';
c.on('data', (b) => { got += b; if (got.length >= 5) c.end(); });
c.on('close', () => { process.stdout.write('echoed:' + got + '\\n'); process.exit(got === 'hello' ? 0 : 3); });
c.write('hello');
`;

t.test(
  'no secret in --verbose or --json output: secret key, session token, StartSession/ResumeSession tokens',
  { skip },
  async (t) => {
    const emu = await startEmulator({
      pacing: 'none',
      instances: [
        { instanceId: 'i-0123456789abcdef0', name: 'demo' },
        { instanceId: 'i-0ddddddddddddddd4', name: 'denied' },
      ],
      accessDeny: [{ action: 'ssm:StartSession', resource: 'i-0ddddddddddddddd4' }],
    });
    t.teardown(() => emu.close());
    const tokens: string[] = [];
    const issue = emu.state.issueToken.bind(emu.state);
    emu.state.issueToken = (sessionId: string): string => {
      const tok = issue(sessionId);
      tokens.push(tok);
      return tok;
    };
    const echo = createServer((s) => s.on('error', () => undefined).pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    t.teardown(() => echo.close());
    const port = (echo.address() as { port: number }).port;
    const sessionToken = `IQoJb3JpZ2luX2VjE${randomBytes(24).toString('base64url')}`;
    const dir = t.testdirName;
    mkdirSync(dir, { recursive: true });
    const env = cliProcessEnv(emu, dir, { AWS_SESSION_TOKEN: sessionToken });
    const runs: Array<[string, Run]> = [];
    for (const mode of ['--verbose', '--json']) {
      runs.push([
        `run ${mode}`,
        await runCli([mode, 'run', `demo:${port}:auto`, '--', process.execPath, '-e', CLIENT], dir, env),
      ]);
      runs.push([
        `failure ${mode}`,
        await runCli([mode, '--wait', '--timeout', '5s', `denied:${port}:auto`], dir, env),
      ]);
    }
    t.ok(tokens.length >= 2, `the emulator issued ${tokens.length} session tokens during the runs`);
    for (const [name, r] of runs) {
      if (name.startsWith('run')) {
        t.equal(r.exit, 0, `${name}: the command ran through the tunnel`);
        t.match(r.out, /echoed:hello/, `${name}: data went through`);
        t.match(r.out, /session-started|session/i, `${name}: session events are printed`);
      } else {
        t.equal(r.exit, 77, `${name}: access denied`);
      }
      t.notOk(r.out.includes(emu.credentials.secretAccessKey), `${name}: no secret access key`);
      t.notOk(r.out.includes(sessionToken), `${name}: no session token`);
      t.notOk(r.out.includes(sessionToken.slice(0, 24)), `${name}: not even a prefix of the session token`);
      for (const tok of tokens) t.notOk(r.out.includes(tok), `${name}: no StartSession/ResumeSession TokenValue`);
    }
  },
);

t.test(
  'tunnel run passes arguments without a shell: $(…), backquotes, ; and $VARS stay literal',
  { skip },
  async (t) => {
    const emu = await startEmulator({ pacing: 'none' });
    t.teardown(() => emu.close());
    const dest = createServer((s) => s.on('error', () => undefined).end());
    dest.listen(0, '127.0.0.1');
    await once(dest, 'listening');
    t.teardown(() => dest.close());
    const port = (dest.address() as { port: number }).port;
    const dir = t.testdirName;
    mkdirSync(dir, { recursive: true });
    const env = cliProcessEnv(emu, dir);
    const a = join(dir, 'pwned-a');
    const b = join(dir, 'pwned-b');
    const c = join(dir, 'pwned-c');
    const args = [`$(touch ${a})`, `\`touch ${b}\``, `x; touch ${c}`, '$HOME', 'it\'s "quoted"', '*'];
    const print = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';
    const r = await runCli(['run', `demo:${port}:auto`, '--', process.execPath, '-e', print, ...args], dir, env);
    t.equal(r.exit, 0, 'the command ran');
    const line = r.out.split('\n').find((l) => l.startsWith('['));
    t.same(JSON.parse(line ?? '[]'), args, 'the command received every argument exactly as typed');
    for (const f of [a, b, c]) t.notOk(existsSync(f), `${f} was not created`);
  },
);

t.test('--bind 0.0.0.0 works but warns on stderr; the default binds loopback only', { skip }, async (t) => {
  const emu = await startEmulator({ pacing: 'none' });
  t.teardown(() => emu.close());
  const dir = t.testdirName;
  mkdirSync(dir, { recursive: true });
  const env = cliProcessEnv(emu, dir);
  const open = await runCli(['run', '--bind', '0.0.0.0', 'demo:5432:auto', '--', process.execPath, '-e', ''], dir, env);
  t.equal(open.exit, 0, 'the forward came up');
  t.match(open.out, /warning: listening on 0\.0\.0\.0, which is not a loopback address/, 'the user is warned');
  t.match(open.out, /0\.0\.0\.0:\d+ ->/, 'and it listens where asked');
  const dflt = await runCli(['run', 'demo:5432:auto', '--', process.execPath, '-e', ''], dir, env);
  t.equal(dflt.exit, 0, 'the forward came up');
  t.match(
    dflt.out,
    /demo {2}127\.0\.0\.1:\d+( \[::1\]:\d+)? ->/,
    'default: 127.0.0.1 (and ::1 where the machine has IPv6), nothing else',
  );
  t.notMatch(dflt.out, /warning/, 'no warning for loopback');
});
