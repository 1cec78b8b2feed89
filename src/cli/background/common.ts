/** What the background-mode commands share: where the socket is, connecting, display helpers. */
import { homedir as osHomedir } from 'node:os';
import { basename, dirname, relative, isAbsolute } from 'node:path';
import { ControlClient } from '../../daemon/client.js';
import { daemonPaths } from '../../daemon/paths.js';
import type { DaemonPaths } from '../../daemon/paths.js';
import type { CliIo } from '../io.js';
import { VERSION } from '../version.js';

export function pathsFor(io: CliIo): DaemonPaths {
  return daemonPaths({ env: io.env, homedir: io.homedir || osHomedir() });
}

/** How long a control request may go unanswered: `TUNNEL_CONTROL_TIMEOUT_MS`, default 15 s. */
export function requestTimeoutMs(io: CliIo): number | undefined {
  const n = Number(io.env['TUNNEL_CONTROL_TIMEOUT_MS']);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Connect to a running background process (never starts one). */
export function connectRunning(io: CliIo): Promise<ControlClient> {
  return ControlClient.connect(pathsFor(io), VERSION, requestTimeoutMs(io));
}

/** `~/src/app` for `/home/me/src/app/.tunnel.yaml`; other files as `~/…/name`. */
export function projectLabel(io: CliIo, project: string): string {
  if (!isAbsolute(project)) return project;
  const p = /^\.tunnel\.(ya?ml|json)$/.test(basename(project)) ? dirname(project) : project;
  const rel = relative(io.homedir, p);
  return rel === '' ? '~' : !rel.startsWith('..') && !isAbsolute(rel) ? `~/${rel}` : p;
}
