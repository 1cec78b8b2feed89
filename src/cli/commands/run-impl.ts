/**
 * `tunnel run [NAME|SPEC…] -- CMD [ARGS…]`: forwards up, CMD runs with their addresses in its
 * environment and `{name.port}` placeholders in its arguments, forwards down when it exits, and
 * tunnel exits with CMD's status. CMD is spawned directly, never through a shell.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { TunnelError, UsageError } from '../../errors.js';
import { envName } from '../../config/check.js';
import { selectForwards, specsFromWords } from '../../config/resolve.js';
import type { ForwardStatus } from '../../tunnel/events.js';
import { awsSettingsFor } from '../aws-settings.js';
import { loadFor, rendererFor } from '../context.js';
import { runForwarding } from '../forwarding.js';
import { withOverrides } from '../spec-flags.js';
import type { SpecOverrides } from '../spec-flags.js';
import { deriveIo } from '../io.js';
import type { CliIo, SignalName } from '../io.js';
import type { GlobalArgs } from '../options.js';

export interface Endpoint {
  host: string;
  port: number;
  addr: string;
}

/** The address clients should use: IPv4 loopback first (what most clients resolve first). */
export function endpointOf(s: ForwardStatus): Endpoint | undefined {
  const a = s.addresses.find((x) => !x.address.includes(':')) ?? s.addresses[0];
  if (a === undefined) return undefined;
  const host = a.address === '0.0.0.0' ? '127.0.0.1' : a.address === '::' ? '::1' : a.address;
  return { host, port: a.port, addr: host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}` };
}

/** `TUNNEL_<NAME>_HOST`, `_PORT`, `_ADDR` for every forward. */
export function forwardEnv(up: readonly ForwardStatus[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of up) {
    const ep = endpointOf(s);
    if (ep === undefined) continue;
    const n = envName(s.name);
    env[`TUNNEL_${n}_HOST`] = ep.host;
    env[`TUNNEL_${n}_PORT`] = String(ep.port);
    env[`TUNNEL_${n}_ADDR`] = ep.addr;
  }
  return env;
}

const PLACEHOLDER_RE = /\{([A-Za-z][A-Za-z0-9_-]*)\.(host|port|addr)\}/g;

/** Replace `{db.port}`, `{db.host}`, `{db.addr}`; an unknown forward name is a usage error. */
export function expandPlaceholders(word: string, up: readonly ForwardStatus[]): string {
  return word.replace(PLACEHOLDER_RE, (_m, name: string, field: 'host' | 'port' | 'addr') => {
    const s = up.find((x) => x.name === name);
    const ep = s === undefined ? undefined : endpointOf(s);
    if (ep === undefined) {
      throw new UsageError(
        `{${name}.${field}}: no forward named "${name}" is up (forwards: ${up.map((x) => x.name).join(', ')})`,
      );
    }
    return field === 'port' ? String(ep.port) : ep[field];
  });
}

/** Exit status of a child: its code, or 128 + signal number as shells report it. */
export function childStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : osConstants.signals[signal];
  return 128 + (n ?? 1);
}

/** The io for tunnel's own output under `run`: stdout redirected to stderr. */
export function ownOutput(io: CliIo): CliIo {
  return deriveIo(io, { stdout: io.stderr, isTTY: false });
}

export async function runWith(
  io: CliIo,
  argv: GlobalArgs,
  words: readonly string[],
  command: readonly string[],
  overrides: SpecOverrides = {},
): Promise<number> {
  const [cmd, ...cmdArgs] = command;
  if (cmd === undefined || cmd === '')
    throw new UsageError('nothing to run: tunnel run [NAME|SPEC…] -- COMMAND [ARGS…]');
  const { namedApis, resolveNamedSpecs, describeResolved, iamEnv, stripBindAuto, withBindAuto, autoBindNames } =
    await import('../named.js');
  const auto = stripBindAuto(argv);
  const args = auto.args;
  const loaded = await loadFor(io, args);
  const { config } = loaded;
  const wanted = withBindAuto(
    withOverrides(words.length === 0 ? selectForwards(config, []) : specsFromWords(config, words), overrides),
    auto.bindAuto,
  );
  if (wanted.length === 0)
    throw new UsageError('no forwards to bring up: name some, give SPECs, or add forwards to .tunnel.yaml');
  // Forwards of this project already up in the background (`tunnel up -d`) are used as they are.
  const { backgroundUp } = await import('../background/reuse.js');
  const project = loaded.projectFile ?? loaded.userFile ?? '(command line)';
  const alreadyUp = await backgroundUp(
    io,
    project,
    wanted.map((s) => s.name),
  );
  const specs = wanted.filter((s) => !alreadyUp.some((b) => b.name === s.name));
  // stdout belongs to the command: everything tunnel itself prints (lines, table, NDJSON
  // events) goes to stderr.
  const own = ownOutput(io);
  const renderer = rendererFor(own, args);
  const aws = await awsSettingsFor(io, config);
  // Issue #19: databases and ECS tasks by name, bind: auto, IAM tokens.
  const named = await resolveNamedSpecs(namedApis(aws), specs, {
    bind: true,
    autoNames: autoBindNames(config.forwards),
  });
  for (const line of describeResolved(named)) renderer.info(line);
  return runForwarding(own, {
    specs: named.specs,
    aws,
    renderer,
    timeoutMs: config.defaults.timeoutMs,
    // The command expects every forward it was promised.
    requireAll: true,
    alreadyUp,
    whileUp: async (up) => {
      const argv = cmdArgs.map((a) => expandPlaceholders(a, up));
      const file = expandPlaceholders(cmd, up);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(io.env)) if (v !== undefined) env[k] = v;
      Object.assign(env, forwardEnv(up), await iamEnv(aws, named.specs));
      renderer.cliEvent('command-start', { command: file, args: argv.length }, undefined);
      const status = await spawnChild(io, file, argv, env);
      renderer.cliEvent('command-exit', { command: file, exitCode: status }, undefined);
      return status;
    },
  });
}

function spawnChild(io: CliIo, file: string, argv: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      env,
      cwd: io.cwd,
      stdio: io.childStdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
    child.stdout?.on('data', (d: Buffer) => io.stdout.write(d.toString()));
    child.stderr?.on('data', (d: Buffer) => io.stderr.write(d.toString()));
    // On a terminal, Ctrl-C reaches the child directly (same process group); forwarding it
    // again would deliver it twice. Otherwise (signal sent to tunnel alone) pass it on.
    const forwardSignals: SignalName[] =
      io.stdinIsTTY && io.childStdio === 'inherit' ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const unsubscribe = forwardSignals.map((s) => io.onSignal(s, () => child.kill(s)));
    child.once('error', (e: NodeJS.ErrnoException) => {
      for (const u of unsubscribe) u();
      reject(
        new TunnelError(
          'ERR_CLI_COMMAND_FAILED',
          `cannot run ${file}: ${e.code === 'ENOENT' ? 'command not found' : e.message}`,
          {
            cause: e,
            details: { errno: e.code ?? 'EIO', command: file },
          },
        ),
      );
    });
    child.once('close', (code, sig) => {
      for (const u of unsubscribe) u();
      resolve(childStatus(code, sig));
    });
  });
}
