/**
 * `tunnel up -d [NAME|GROUP…]`: hand the resolved forwards to the background process (started
 * if none answers), wait as the foreground `up` does (`--timeout`; `--wait`: every forward must
 * come up), print the same ready lines, and return. Running it again after editing the config
 * applies the difference: only added, changed and removed forwards are touched.
 */
import { ERROR_CODES, TunnelError, UsageError } from '../../errors.js';
import { selectForwards } from '../../config/resolve.js';
import { awsEnvOf } from '../../daemon/aws-input.js';
import { connectOrStart } from '../../daemon/client.js';
import type { BackgroundStatus, Change, UpReply } from '../../daemon/protocol.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import { loadFor } from '../context.js';
import { describeUp, readySummary } from '../forwarding.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';
import { formatDuration } from '../output/format.js';
import { createRenderer } from '../output/renderer.js';
import { VERSION } from '../version.js';
import { pathsFor, requestTimeoutMs } from './common.js';

function isUp(s: BackgroundStatus): boolean {
  return s.state === 'ready' || s.state === 'idle' || s.state === 'reconnecting';
}

/** A background forward's failure as a typed error (the exit status follows its code). */
function errorOfStatus(s: BackgroundStatus): TunnelError {
  const code = ERROR_CODES.find((c) => c === s.error?.code) ?? 'ERR_TUNNEL_SESSION_LOST';
  return new TunnelError(code, `${s.name}: ${s.error?.message ?? 'failed'}`, { details: { forward: s.name } });
}

const CHANGE_TEXT: Record<Change['action'], string> = {
  added: 'added',
  restarted: 'changed in the config: restarted',
  unchanged: 'unchanged',
  removed: 'no longer in the config: stopped',
  stopped: 'stopped',
};

export async function upDetached(io: CliIo, args: GlobalArgs, names: readonly string[]): Promise<number> {
  const loaded = await loadFor(io, args);
  const { config } = loaded;
  if (Object.keys(config.forwards).length === 0) {
    throw new UsageError(
      `the configuration has no forwards (${loaded.projectFile ?? 'no .tunnel.yaml found'}); run \`tunnel init\` first`,
    );
  }
  const specs: ForwardSpec[] = selectForwards(config, names);
  const project = loaded.projectFile ?? loaded.userFile ?? '(command line)';
  const d = config.defaults;
  const renderer = createRenderer(io, { mode: args.json ? 'json' : 'plain', quiet: args.quiet, verbose: args.verbose });
  if (io.scriptPath === undefined)
    throw new TunnelError('ERR_DAEMON_START_FAILED', 'cannot tell which tunnel script to start');
  const { client, started } = await connectOrStart(pathsFor(io), {
    scriptPath: io.scriptPath,
    env: io.env,
    clientVersion: VERSION,
    ...(requestTimeoutMs(io) === undefined ? {} : { requestTimeoutMs: requestTimeoutMs(io) }),
  });
  let reply: UpReply;
  try {
    if (started) renderer.info(`started the background process (pid ${client.server.pid})`);
    renderer.info(`starting ${specs.length} forward${specs.length === 1 ? '' : 's'} in the background…`);
    reply = (await client.request(
      {
        op: 'up',
        project,
        cwd: io.cwd,
        aws: {
          ...(d.region === undefined ? {} : { region: d.region }),
          ...(d.profile === undefined ? {} : { profile: d.profile }),
          ...(d.endpoint === undefined ? {} : { endpoint: d.endpoint }),
          env: awsEnvOf(io.env),
        },
        forwards: specs,
        configured: Object.keys(config.forwards),
        timeoutMs: d.timeoutMs,
        // Stopping changed forwards (about 2 s each, in parallel) comes on top of the wait.
      },
      d.timeoutMs,
    )) as unknown as UpReply;
  } finally {
    client.close();
  }
  for (const c of reply.changes) {
    renderer.cliEvent('change', { project: c.project, forward: c.forward, action: c.action });
    if (c.action !== 'unchanged' && c.action !== 'added') renderer.info(`${c.forward}: ${CHANGE_TEXT[c.action]}`);
  }
  const statuses = reply.forwards;
  if (reply.outcome === 'timeout') {
    const pending = statuses.filter((s) => !isUp(s)).map((s) => s.name);
    throw new TunnelError(
      'ERR_CLI_TIMEOUT',
      `not ready within ${formatDuration(d.timeoutMs)}: ${pending.join(', ')} (still trying in the background: \`tunnel status\`, \`tunnel down ${pending.join(' ')}\`)`,
      { details: { forwards: pending.join(',') } },
    );
  }
  const failed = statuses.filter((s) => !isUp(s));
  const first = failed[0];
  if (first !== undefined && (args.wait || failed.length === statuses.length)) throw errorOfStatus(first);
  for (const s of failed) renderer.info(`${s.name}: failed: ${s.error?.message ?? '?'}`);
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const s of statuses.filter(isUp)) {
    renderer.cliEvent('ready', { ...readySummary(s), project }, describeUp(s, byName.get(s.name)));
  }
  return 0;
}
