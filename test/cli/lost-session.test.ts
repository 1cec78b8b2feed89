/**
 * Lost means reset (issue 13), with the built CLI as a subprocess and the emulator as another:
 * 30 downloads run through `tunnel` when the emulator is killed with SIGKILL, or the tunnel gets
 * SIGINT, mid-transfer. Every connection either completes sha256-identical or sees a TCP reset
 * (ECONNRESET); none ends with a clean FIN after a partial transfer.
 */
import t from 'tap';
import type { Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_INSTANCE_ID } from '../../src/emulator/index.js';
import { download, startStreamSource, type Download } from '../helpers/stream-source.js';
import { tunnelProc, type TunnelProc } from '../helpers/tunnel-proc.js';

const CONNECTIONS = 30;
const SIZE = 2 * 1024 * 1024;

function run(t: Test, args: string[], env: Record<string, string>, cwd: string): TunnelProc {
  return tunnelProc(t, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: cwd, AWS_EC2_METADATA_DISABLED: 'true', ...env },
  });
}

/** The emulator (pacing none) and the tunnel CLI, both subprocesses; 30 downloads under way. */
async function setup(t: Test) {
  const dir = t.testdir({});
  writeFileSync(join(dir, 'emu.yaml'), 'pacing: none\n');
  const emu = run(t, ['emulator', '--config', 'emu.yaml', '--json', '--quiet'], {}, dir);
  const started = JSON.parse((await emu.waitFor(/^\{"type":"emulator-started".*$/m))[0]) as {
    env: Record<string, string>;
  };
  const source = await startStreamSource(t);
  const tunnel = run(t, [`${DEFAULT_INSTANCE_ID}:${source.port}:auto`, '--no-user-config'], started.env, dir);
  const port = Number((await tunnel.waitFor(/127\.0\.0\.1:(\d+) .*->/))[1]);
  const downloads: Download[] = [];
  for (let i = 0; i < CONNECTIONS; i++) downloads.push(download(port, 1000 + i, SIZE));
  // Mid-transfer: a quarter of all the bytes have arrived (so most connections are incomplete).
  // One listener per socket (a race of once() per round would pile listeners on quiet sockets).
  const quarter = (CONNECTIONS * SIZE) / 4;
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (downloads.reduce((n, d) => n + d.received(), 0) < quarter) return;
      for (const d of downloads) d.socket.off('data', check);
      resolve();
    };
    for (const d of downloads) d.socket.on('data', check);
  });
  return { emu, tunnel, downloads };
}

async function outcomes(t: Test, downloads: Download[]): Promise<void> {
  const ends = await Promise.all(downloads.map((d) => d.done));
  const count = (e: string): number => ends.filter((x) => x.end === e).length;
  t.comment(
    `complete ${count('complete')}, reset ${count('reset')}, short ${count('short')}, other ${count('error') + count('corrupt')}`,
  );
  t.equal(count('short'), 0, 'no connection ends cleanly short');
  t.equal(count('corrupt'), 0, 'no connection ends with different bytes');
  t.equal(count('complete') + count('reset'), CONNECTIONS, 'each one completes sha256-identical or is reset');
  t.ok(count('reset') >= 1, 'the cut transfers are reset');
}

t.test('kill -9 of the emulator mid-transfer: every connection completes or is reset', async (t) => {
  const { emu, downloads } = await setup(t);
  emu.child.kill('SIGKILL');
  await outcomes(t, downloads);
});

t.test('SIGINT to the tunnel mid-transfer: every connection completes or is reset', async (t) => {
  const { tunnel, downloads } = await setup(t);
  tunnel.child.kill('SIGINT');
  await outcomes(t, downloads);
  const { code } = await tunnel.exit;
  t.equal(code, 0, 'the tunnel exits normally');
});
