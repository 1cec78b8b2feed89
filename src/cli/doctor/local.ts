/**
 * Check 8, local side: each bind address of the forward can listen on its local port, or the
 * port is held by `tunnel` itself (a forward already running). On Linux the holder's pid and
 * command line are found through /proc; elsewhere the holder is "another process".
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { DEFAULT_BIND, type ForwardSpec } from '../../tunnel/forward-spec.js';
import { fail, pass, warn, type Check, type Finding } from './types.js';

export interface PortHolder {
  pid: number;
  command: string;
  isTunnel: boolean;
}

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** Socket inodes listening on `port` (/proc/net/tcp, tcp6). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local === undefined || cols[3] !== '0A') continue; // 0A = LISTEN
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9] !== undefined) out.add(cols[9]);
    }
  }
  return out;
}

/** The process holding a listening socket on `port`, when /proc tells (Linux, same user). */
export async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids.slice(0, 100_000)) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = await readlink(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m?.[1] === undefined || !inodes.has(m[1])) continue;
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((a) => a !== '');
      const isTunnel = argv.slice(0, 3).some((a) => /(^|\/)tunnel$/.test(a) || /(^|\/)bin\/tunnel\.js$/.test(a));
      return { pid: Number(pid), command: argv.join(' ').slice(0, 120), isTunnel };
    }
  }
  return undefined;
}

export const localCheck: Check = {
  id: 'local',
  scope: 'forward',
  needs: [],
  timeoutMs: 10_000,
  timeoutFix: 'the local port check hung: try again, or pick another local port',
  async run(_ctx, forward) {
    const spec = forward as ForwardSpec;
    const binds = spec.bind ?? [...DEFAULT_BIND];
    if (spec.localPort === 'auto') return pass(`auto: a free port is picked on ${binds.join(', ')} at start`);
    const port = spec.localPort;
    const free: string[] = [];
    const notes: string[] = [];
    let worst: Finding | undefined;
    const details: Record<string, unknown> = { port, bind: binds };
    for (const host of binds) {
      const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      const err = await tryListen(host, port);
      if (err === undefined) {
        free.push(addr);
        continue;
      }
      if (err === 'EADDRNOTAVAIL' || err === 'EAFNOSUPPORT') {
        notes.push(`${host} is not an address of this machine (skipped, as tunnel does)`);
        continue;
      }
      if (err === 'EACCES') {
        worst = fail(
          `${addr}: binding a port below 1024 needs privileges`,
          `use a local port of 1024 or more (e.g. ${spec.name}: localPort ${10_000 + port}, or TARGET:${spec.remotePort}:${10_000 + port})`,
          details,
        );
        break;
      }
      if (err !== 'EADDRINUSE') {
        worst = fail(`${addr}: cannot listen (${err})`, 'choose another bind address (--bind 127.0.0.1)', details);
        break;
      }
      const holder = await findPortHolder(port);
      if (holder !== undefined) details['holder'] = holder;
      if (holder?.isTunnel === true) {
        notes.push(`${addr} is held by tunnel itself (pid ${holder.pid})`);
        continue;
      }
      const who = holder === undefined ? 'another process' : `pid ${holder.pid} (${holder.command})`;
      if (spec.allowBusyFallback === true) {
        worst ??= warn(
          `${addr} is in use by ${who}; tunnel will pick a free port instead and say so`,
          `free the port, or set a fixed free localPort for ${spec.name}`,
          details,
        );
        continue;
      }
      worst = fail(
        `${addr} is in use by ${who}`,
        `stop ${holder === undefined ? 'the process holding it' : `pid ${holder.pid}`}, or choose another local port (TARGET:${spec.remotePort}:LOCAL_PORT, localPort: auto)`,
        details,
      );
      break;
    }
    if (worst !== undefined) return worst;
    const parts = [...(free.length > 0 ? [`${free.join(', ')} free`] : []), ...notes];
    return pass(parts.join('; '), details);
  },
};
