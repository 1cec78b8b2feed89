/** `tunnel init`: write the commented starter `.tunnel.yaml`. */
import { join } from 'node:path';
import { writeConfigFile } from '../../config/load.js';
import { STARTER_CONFIG } from '../../config/starter.js';
import type { CliIo } from '../io.js';

export async function init(io: CliIo, options: { force: boolean; stdout: boolean; quiet: boolean }): Promise<number> {
  if (options.stdout) {
    io.stdout.write(STARTER_CONFIG);
    return 0;
  }
  const path = join(io.cwd, '.tunnel.yaml');
  await writeConfigFile(path, STARTER_CONFIG, { force: options.force });
  if (!options.quiet) io.stderr.write(`wrote ${path}: edit the targets and forwards, then run \`tunnel up\`\n`);
  return 0;
}
