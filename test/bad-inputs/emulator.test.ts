/**
 * `tunnel emulator` flags and settings that were ignored or unsafe: `--region`, `host: 0.0.0.0`.
 * Runs the built CLI, reads its `emulator-started` event, then stops it with SIGTERM.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const bin = join(resolve(import.meta.dirname, '..', '..'), 'dist', 'bin', 'tunnel.js');

async function started(args: string[], cwd: string): Promise<{ event: Record<string, unknown>; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  child.kill('SIGTERM');
  await once(child, 'exit');
  return { event: JSON.parse(line) as Record<string, unknown>, stderr };
}

t.test('emulator flags', { skip: existsSync(bin) ? false : `${bin} is not built` }, async (t) => {
  const dir = t.testdirName;
  mkdirSync(dir, { recursive: true });

  t.test('emulator-region: --region sets the region it signs for and reports', async (t) => {
    const { event } = await started(['emulator', '--json', '--region', 'eu-west-1'], dir);
    t.equal(event['region'], 'eu-west-1');
    t.equal((event['env'] as Record<string, string>)['AWS_REGION'], 'eu-west-1');
  });

  t.test('emulator-host-any: host 0.0.0.0 warns and prints a loopback endpoint tunnel accepts', async (t) => {
    writeFileSync(join(dir, 'emu.yaml'), 'host: 0.0.0.0\n');
    const { event, stderr } = await started(['emulator', '--json', '--config', 'emu.yaml'], dir);
    t.match(event['endpoint'], /^http:\/\/127\.0\.0\.1:\d+$/);
    t.match(stderr, /warning: listening on 0\.0\.0\.0, not only loopback/);
  });
});
