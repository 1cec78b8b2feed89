/** `tunnel daemon` and `tunnel service install|uninstall`. */
import { TunnelError } from '../../errors.js';
import { runDaemon } from '../../daemon/run.js';
import { defaultServiceKind, removeServiceFile, serviceFile, writeServiceFile } from '../../daemon/service.js';
import type { ServiceKind } from '../../daemon/service.js';
import type { CliIo } from '../io.js';
import { VERSION } from '../version.js';
import { pathsFor } from './common.js';

export async function daemon(io: CliIo, keep: boolean, spawned: boolean): Promise<number> {
  const max = Number(io.env['TUNNEL_LOG_MAX_BYTES']);
  return runDaemon({
    paths: pathsFor(io),
    clock: io.clock,
    version: VERSION,
    keep,
    spawned,
    ...(Number.isFinite(max) && max > 0 ? { logMaxBytes: max } : {}),
    onSignal: (s, h) => io.onSignal(s, h),
    say: (text) => io.stderr.write(`${text}\n`),
  });
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw reaches the caller as a rejection
export async function service(
  io: CliIo,
  action: 'install' | 'uninstall',
  kind: string | undefined,
  toStdout: boolean,
): Promise<number> {
  if (io.scriptPath === undefined) throw new TunnelError('ERR_CLI_USAGE', 'cannot tell where the tunnel script is');
  const k: ServiceKind = kind === 'launchd' || kind === 'systemd' ? kind : defaultServiceKind();
  const f = serviceFile(k, { scriptPath: io.scriptPath, homedir: io.homedir, env: io.env });
  if (toStdout) {
    io.stdout.write(f.text);
    return 0;
  }
  if (action === 'uninstall') {
    const removed = removeServiceFile(f);
    io.stdout.write(removed ? `removed ${f.path}\n` : `${f.path} was not there\n`);
    if (removed) io.stderr.write(`first stop it if it runs: ${f.disable}\n`);
    return 0;
  }
  writeServiceFile(f);
  io.stdout.write(`wrote ${f.path}\n`);
  io.stderr.write(`enable it with: ${f.enable}\n`);
  return 0;
}
