/**
 * A real HTTP proxy for tests: Debian's `tinyproxy` (installed by scripts/test-services.sh from
 * .ci/run), in the foreground on a free loopback port, logging every request line (including
 * `CONNECT host:port`) to its stdout. Stopped (SIGKILL to its own pid) in teardown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export interface Tinyproxy {
  url: string;
  port: number;
  /** Everything tinyproxy logged so far. */
  log(): string;
}

export function tinyproxyAvailable(): boolean {
  return spawnSync('tinyproxy', ['-v'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const a = s.address();
  const port = a !== null && typeof a === 'object' ? a.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once a TCP connect to the port succeeds (each try waits for the connect's own outcome). */
async function reachable(port: number, tries: number, exited: () => boolean): Promise<void> {
  for (let i = 0; i < tries && !exited(); i++) {
    const s = connect({ host: '127.0.0.1', port });
    const ok = await Promise.race([once(s, 'connect').then(() => true), once(s, 'error').then(() => false)]).catch(
      () => false,
    );
    s.destroy();
    if (ok) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`tinyproxy did not start listening on 127.0.0.1:${port}`);
}

/**
 * Start tinyproxy. `connectPorts`: the only ports CONNECT may reach (tinyproxy's `ConnectPort`);
 * undefined allows every port.
 */
export async function startTinyproxy(
  t: { teardown(fn: () => unknown): void },
  dir: string,
  options: { connectPorts?: number[] } = {},
): Promise<Tinyproxy> {
  const port = await freePort();
  const conf = join(dir, `tinyproxy-${port}.conf`);
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'MaxClients 64',
      'LogLevel Connect',
      'Allow 127.0.0.1',
      ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
      '',
    ].join('\n'),
  );
  const child = spawn('tinyproxy', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  t.teardown(() => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  await reachable(port, 2000, () => exited);
  return { url: `http://127.0.0.1:${port}`, port, log: () => log };
}
