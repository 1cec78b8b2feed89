/**
 * `tunnel emulator`: start the emulator, print `export …` lines (its endpoint and its own
 * throwaway credentials: printing them is the point of this command), run until a signal.
 */
import { UsageError } from '../../errors.js';
import type { CliIo, SignalName } from '../io.js';

/** Single-quote for POSIX shells when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface EmulatorRunOptions {
  configFile?: string | undefined;
  port?: number | undefined;
  json: boolean;
  quiet: boolean;
}

export async function runEmulator(io: CliIo, options: EmulatorRunOptions): Promise<number> {
  const { startEmulator, loadEmulatorConfig } = await import('../../emulator/index.js');
  const { resolve } = await import('node:path');
  const emuOptions = options.configFile === undefined ? {} : loadEmulatorConfig(resolve(io.cwd, options.configFile));
  if (options.port !== undefined) {
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
      throw new UsageError(`--port ${options.port} is not a port`);
    emuOptions.port = options.port;
  }
  const emu = await startEmulator(emuOptions);
  const vars: Array<[string, string]> = [
    ['AWS_ENDPOINT_URL_SSM', emu.endpoint],
    ['AWS_ACCESS_KEY_ID', emu.credentials.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', emu.credentials.secretAccessKey],
    ['AWS_REGION', emu.region],
    // Issue #19: the same endpoint serves the emulated RDS, ElastiCache and ECS APIs (and KMS).
    ['AWS_ENDPOINT_URL_RDS', emu.endpoint],
    ['AWS_ENDPOINT_URL_ELASTICACHE', emu.endpoint],
    ['AWS_ENDPOINT_URL_ECS', emu.endpoint],
  ];
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({ type: 'emulator-started', time: new Date(io.clock.wallNow()).toISOString(), endpoint: emu.endpoint, region: emu.region, env: Object.fromEntries(vars) })}\n`,
    );
  } else {
    for (const [k, v] of vars) io.stdout.write(`export ${k}=${shellQuote(v)}\n`);
  }
  if (!options.quiet && !options.json) {
    const instances = [...emu.state.instances.values()].map(
      (i) => `${i.instanceId}${i.name === undefined ? '' : ` (Name=${i.name})`} ${i.pingStatus}`,
    );
    io.stderr.write(
      `emulator listening on ${emu.endpoint} (region ${emu.region}); instances: ${instances.join(', ')}\n`,
    );
    io.stderr.write('these credentials only work against this emulator; Ctrl-C to stop\n');
  }
  const { attachActivityLog } = await import('./emulator-log.js');
  const detachLog = attachActivityLog(emu, (event, fields, line) => {
    if (options.json)
      io.stdout.write(
        `${JSON.stringify({ type: 'emulator-event', time: new Date(io.clock.wallNow()).toISOString(), event, ...fields })}\n`,
      );
    else if (!options.quiet) io.stderr.write(`${line}\n`);
  });
  const signal = await new Promise<SignalName>((resolveSignal) => {
    const subs = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) =>
      io.onSignal(s, () => {
        for (const u of subs) u();
        resolveSignal(s);
      }),
    );
  });
  if (!options.quiet && !options.json) io.stderr.write(`${signal}: stopping the emulator\n`);
  await emu.close();
  detachLog();
  return 0;
}
