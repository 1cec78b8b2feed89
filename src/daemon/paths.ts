/**
 * Where the background process keeps its control socket, pid file, start lock, auth token and
 * log: `$XDG_RUNTIME_DIR/tunnel/` (a per-user tmpfs on systemd systems), else a 0700 directory
 * under the user's cache dir (`$XDG_CACHE_HOME/tunnel/run`, `~/Library/Caches/tunnel/run` on
 * macOS). The directory must belong to the user and be private: anyone who can reach the socket
 * can start forwards with the user's credentials.
 */
import { lstatSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { TunnelError } from '../errors.js';

export interface DaemonPaths {
  dir: string;
  socket: string;
  pid: string;
  lock: string;
  /** 0600 file with a random secret: a client proves it is the same user by reading it. */
  token: string;
  log: string;
}

export interface PathEnv {
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  platform?: NodeJS.Platform;
}

/** sun_path is 108 bytes on Linux, 104 on macOS; keep under the smaller one. */
const MAX_SOCKET_PATH = 103;

export function daemonDir(p: PathEnv): string {
  const runtime = p.env['XDG_RUNTIME_DIR'];
  if (runtime !== undefined && runtime !== '') return join(runtime, 'tunnel');
  const cacheHome = p.env['XDG_CACHE_HOME'];
  if (cacheHome !== undefined && cacheHome !== '') return join(cacheHome, 'tunnel', 'run');
  const platform = p.platform ?? process.platform;
  if (platform === 'darwin') return join(p.homedir, 'Library', 'Caches', 'tunnel', 'run');
  return join(p.homedir, '.cache', 'tunnel', 'run');
}

export function daemonPaths(p: PathEnv): DaemonPaths {
  const dir = daemonDir(p);
  const platform = p.platform ?? process.platform;
  const socket =
    platform === 'win32' ? `\\\\.\\pipe\\tunnel-${dir.replace(/[^A-Za-z0-9]/g, '-')}` : join(dir, 'tunnel.sock');
  return {
    dir,
    socket,
    pid: join(dir, 'tunnel.pid'),
    lock: join(dir, 'start.lock'),
    token: join(dir, 'token'),
    log: join(dir, 'tunnel.log'),
  };
}

function uid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/**
 * Create the directory (0700) or check an existing one: it must be a real directory (not a
 * symlink), owned by this user, with no group/other permissions (fixed if we own it).
 */
export function ensurePrivateDir(paths: DaemonPaths): void {
  if (process.platform !== 'win32' && Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) {
    throw new TunnelError(
      'ERR_DAEMON_ACCESS',
      `control socket path is too long for a Unix socket (${Buffer.byteLength(paths.socket)} bytes): ${paths.socket}; set XDG_RUNTIME_DIR to a shorter directory`,
    );
  }
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  checkPrivateDir(paths.dir, true);
}

/** Throws ERR_DAEMON_ACCESS unless `dir` is ours and private; `fix` tightens our own dir's mode. */
export function checkPrivateDir(dir: string, fix: boolean): void {
  if (process.platform === 'win32') return;
  const st = lstatSync(dir);
  if (!st.isDirectory()) {
    throw new TunnelError('ERR_DAEMON_ACCESS', `${dir} is not a directory (a symlink or file is in its place)`);
  }
  const me = uid();
  if (me !== undefined && st.uid !== me) {
    throw new TunnelError(
      'ERR_DAEMON_ACCESS',
      `${dir} belongs to uid ${st.uid}, not to you (uid ${me}): the background process there is another user's`,
      { details: { dir, owner: st.uid } },
    );
  }
  if ((st.mode & 0o077) !== 0) {
    if (!fix)
      throw new TunnelError('ERR_DAEMON_ACCESS', `${dir} is not private (mode ${(st.mode & 0o777).toString(8)})`);
    chmodSync(dir, 0o700);
  }
}
