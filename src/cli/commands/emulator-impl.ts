/**
 * `tunnel emulator`: start the emulator, print `export …` lines (its endpoint and its own
 * throwaway credentials: printing them is the point of this command), run until a signal.
 */
import { UsageError } from '../../errors.js';
import { shortText } from '../../config/text.js';
import type { CliIo, SignalName } from '../io.js';
import { isLoopbackName } from '../../loopback.js';

/** Single-quote for POSIX shells when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface EmulatorRunOptions {
  configFile?: string | undefined;
  /** `--port`, as typed: parsed here so that `abc` is named in the message, not `NaN`. */
  port?: string | number | undefined;
  /** `--region`: the region the emulator signs for and reports. */
  region?: string | undefined;
  json: boolean;
  quiet: boolean;
}

export async function runEmulator(io: CliIo, options: EmulatorRunOptions): Promise<number> {
  const { startEmulator, loadEmulatorConfig } = await import('../../emulator/index.js');
  const path = await import('node:path');
  const emuOptions =
    options.configFile === undefined ? {} : loadEmulatorConfig(path.resolve(io.cwd, options.configFile));
  if (options.port !== undefined) {
    const text = String(options.port).trim();
    const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(port) || port > 65535)
      throw new UsageError(`--port "${shortText(text)}" is not a port (0-65535; 0 picks a free port)`);
    emuOptions.port = port;
  }
  if (options.region !== undefined) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(options.region))
      throw new UsageError(`--region "${shortText(options.region)}" is not an AWS region (e.g. eu-west-1)`);
    emuOptions.region = options.region;
  }
  const emu = await startEmulator(emuOptions);
  const host = emuOptions.host ?? '127.0.0.1';
  if (!isLoopbackName(host)) {
    // On stderr even with --json/--quiet: the user must know the API is reachable from elsewhere.
    io.stderr.write(
      `tunnel emulator: warning: listening on ${host}, not only loopback: anyone who can reach this machine can call the emulator's API with the printed credentials; clients here should use ${emu.endpoint} (tunnel speaks plain http only to loopback)\n`,
    );
  }
  const vars: Array<[string, string]> = [
    ['AWS_ENDPOINT_URL_SSM', emu.endpoint],
    ['AWS_ACCESS_KEY_ID', emu.credentials.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', emu.credentials.secretAccessKey],
    ['AWS_REGION', emu.region],
    // Issue #15: the sign-in side (tunnel login, SSO profiles, assume-role) on the same endpoint.
    ['AWS_ENDPOINT_URL_SSO_OIDC', emu.endpoint],
    ['AWS_ENDPOINT_URL_SSO', emu.endpoint],
    ['AWS_ENDPOINT_URL_STS', emu.endpoint],
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
