/** The package's entry points, imported by name as a user would (self-reference through "exports"). */
import t from 'tap';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string };

t.test('the root export is the library, without the emulator', async (t) => {
  const lib = (await import(pkg.name)) as Record<string, unknown>;
  t.type(lib['openForward'], 'function');
  t.type(lib['TunnelManager'], 'function');
  t.equal(lib['startEmulator'], undefined, 'the emulator is not part of the root export');
});

t.test('<package>/emulator exports the emulator', async (t) => {
  const emu = (await import(`${pkg.name}/emulator`)) as Record<string, unknown>;
  t.type(emu['startEmulator'], 'function');
});
