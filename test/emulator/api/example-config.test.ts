import t from 'tap';
import { fileURLToPath } from 'node:url';
import { loadEmulatorConfig, resolveEmulatorOptions } from '../../../src/emulator/options.js';

t.test('docs/emulator.example.yaml loads and resolves', async (t) => {
  const file = fileURLToPath(new URL('../../../docs/emulator.example.yaml', import.meta.url));
  const o = resolveEmulatorOptions(loadEmulatorConfig(file));
  t.equal(o.instances.length, 4);
  t.equal(o.instances.find((i) => i.name === 'offline')?.pingStatus, 'ConnectionLost');
  t.equal(o.destinations.length, 2);
  t.equal(o.seed, 42);
});
