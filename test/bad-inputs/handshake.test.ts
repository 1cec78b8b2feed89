/**
 * Handshake vs readiness: a gateway that sends garbage, a giant frame, or nothing, instead of the agent's
 * handshake. The readiness deadline (--timeout) passes before the session's own handshake
 * timeout, so the "not ready" message itself must say what the session was waiting for and what
 * went wrong, without --verbose. The real CLI, the emulator's API, and a loopback websocket
 * server standing in for the gateway (the emulator hands out its URL as StreamUrl).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import { startEmulator } from '../../src/emulator/index.js';
import { cliProcessEnv } from '../helpers/emulator.js';

const bin = join(resolve(import.meta.dirname, '..', '..'), 'dist', 'bin', 'tunnel.js');

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ exit: number | null; stdout: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd, env, timeout: 60_000 }, (err, stdout) =>
      done({ exit: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout }),
    );
  });
}

/** The `error` event among the `--json` lines of `stdout`. */
function errorEvent(stdout: string): Record<string, unknown> | undefined {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e['type'] === 'error');
}

t.test(
  'handshake problems are named when readiness times out',
  { skip: existsSync(bin) ? false : 'not built' },
  async (t) => {
    const emu = await startEmulator({
      pacing: 'none',
      instances: [{ instanceId: 'i-0123456789abcdef0', name: 'demo' }],
    });
    t.teardown(() => emu.close());
    let mode: 'garbage' | 'silent' | 'giant' = 'garbage';
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    t.teardown(() => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    });
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined);
      // Garbage: a few binary records that are not SSM messages, sent whenever the client speaks.
      const spew = (): void => {
        for (let i = 0; i < 5; i++) ws.send(Buffer.from(`not an agent message ${i}`));
      };
      // Giant: one binary frame over the client's 4 MiB maxPayload instead of a handshake.
      if (mode === 'giant') ws.send(Buffer.alloc(4 * 1024 * 1024 + 1));
      if (mode === 'garbage') {
        spew();
        ws.on('message', spew);
      }
    });
    emu.state.setDataChannelBaseUrl(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const dir = t.testdirName;
    mkdirSync(dir, { recursive: true });
    const env = cliProcessEnv(emu, dir);

    t.test('handshake-garbage: garbage records instead of a handshake', async (t) => {
      mode = 'garbage';
      const r = await run(['--json', 'demo:5432:auto', '--wait', '--timeout', '3s'], dir, env);
      const error = errorEvent(r.stdout);
      t.equal(r.exit, 75);
      t.equal(error?.['code'], 'ERR_CLI_TIMEOUT');
      t.match(
        error?.['message'],
        /not ready within 3\.0 s: demo \(waiting for the agent's handshake; \d+ malformed records? from the gateway dropped \(last: ERR_SSM_/,
      );
    });

    t.test('handshake-none: a gateway that never speaks', async (t) => {
      mode = 'silent';
      const r = await run(['--json', 'demo:5432:auto', '--wait', '--timeout', '3s'], dir, env);
      t.equal(r.exit, 75);
      t.match(r.stdout, /not ready within 3\.0 s: demo \(waiting for the agent's handshake\)/);
    });

    t.test('handshake-giant-frame: a frame over 4 MiB instead of a handshake', async (t) => {
      mode = 'giant';
      const r = await run(['--json', 'demo:5432:auto', '--wait', '--timeout', '3s'], dir, env);
      const error = errorEvent(r.stdout);
      t.equal(r.exit, 75);
      t.equal(error?.['code'], 'ERR_CLI_TIMEOUT');
      // The websocket closes with 1009 at each attempt: the message says so, not only "not ready".
      t.match(
        error?.['message'],
        /not ready within 3\.0 s: demo \(waiting for the agent's handshake; the data channel websocket was lost (once|\d+ times) \(last: ERR_SESSION_MESSAGE_TOO_LARGE: the gateway sent a websocket message larger than 4194304 bytes/,
      );
    });
  },
);
