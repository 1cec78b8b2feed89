/**
 * The client side of the control socket, and starting the background process when none
 * answers. Used by `tunnel up -d`, `status`, `down`, `logs` and `run`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { TunnelError, isTunnelError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { acquireStartLock } from './lock.js';
import { checkPrivateDir, ensurePrivateDir } from './paths.js';
import type { DaemonPaths } from './paths.js';
import { LineSplitter, PROTOCOL_VERSION, isRecord, versionMismatch } from './protocol.js';
import type { LogRecord, Request } from './protocol.js';

/** How long a request may go unanswered; `up` adds its own readiness timeout to this. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void };

function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function accessError(paths: DaemonPaths, what: string, cause: unknown): TunnelError {
  return new TunnelError(
    'ERR_DAEMON_ACCESS',
    `permission denied on ${what} in ${paths.dir}: the background process there belongs to another user`,
    { cause },
  );
}

export class ControlClient {
  readonly #s: Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #onEvent: ((e: LogRecord) => void) | undefined;
  #closedError: Error | undefined;
  #timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  /** The background process's pid and version (from `hello`). */
  server: { pid: number; version: string } = { pid: 0, version: '?' };

  private constructor(s: Socket) {
    this.#s = s;
    const splitter = new LineSplitter();
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      try {
        splitter.push(chunk, (line) => this.#line(line));
      } catch (e) {
        this.#fail(new TunnelError('ERR_DAEMON_PROTOCOL', `background process: ${(e as Error).message}`));
      }
    });
    s.on('error', (e) =>
      this.#fail(new TunnelError('ERR_DAEMON_NOT_RUNNING', `control socket: ${e.message}`, { cause: e })),
    );
    s.on('close', () =>
      this.#fail(new TunnelError('ERR_DAEMON_NOT_RUNNING', 'the background process closed the control connection')),
    );
  }

  /** Connect and authenticate; ERR_DAEMON_NOT_RUNNING when nothing answers. */
  static async connect(
    paths: DaemonPaths,
    clientVersion: string,
    requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<ControlClient> {
    // Ours but too open: tightened; not ours: refused (ERR_DAEMON_ACCESS).
    if (existsSync(paths.dir)) checkPrivateDir(paths.dir, true);
    const s = await new Promise<Socket>((resolve, reject) => {
      const sock = createConnection(paths.socket);
      sock.once('connect', () => {
        sock.removeAllListeners('error');
        resolve(sock);
      });
      sock.once('error', (e) => {
        const code = errnoOf(e);
        if (code === 'EACCES' || code === 'EPERM') reject(accessError(paths, 'the control socket', e));
        else
          reject(
            new TunnelError(
              'ERR_DAEMON_NOT_RUNNING',
              'no background tunnel process is running (start one with `tunnel up -d`)',
              {
                cause: e,
                details: { stale: code === 'ECONNREFUSED' },
              },
            ),
          );
      });
    });
    const c = new ControlClient(s);
    let token: string;
    try {
      token = readFileSync(paths.token, 'utf8').trim();
    } catch (e) {
      c.close();
      const code = errnoOf(e);
      if (code === 'EACCES' || code === 'EPERM') throw accessError(paths, 'the token file', e);
      throw new TunnelError(
        'ERR_DAEMON_NOT_RUNNING',
        'the background process has no token file (it is starting or stopping)',
        { cause: e },
      );
    }
    c.#timeoutMs = requestTimeoutMs;
    const hello = await c.request({ op: 'hello', token, client: clientVersion });
    c.server = { pid: Number(hello['pid']), version: String(hello['server']) };
    return c;
  }

  /**
   * Send a request; the reply, or ERR_DAEMON_NOT_RUNNING (with `unresponsive`) when none comes
   * within the request timeout plus `extraMs` (a stopped or wedged process: the socket accepts,
   * nobody answers).
   */
  request(req: Request, extraMs = 0): Promise<Record<string, unknown>> {
    const timeoutMs = this.#timeoutMs + extraMs;
    if (this.#closedError !== undefined) return Promise.reject(this.#closedError);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new TunnelError(
            'ERR_DAEMON_NOT_RUNNING',
            `the background process${this.server.pid > 0 ? ` (pid ${this.server.pid})` : ''} does not answer (stopped or hung?): kill it, then run \`tunnel up -d\` again`,
            { details: { unresponsive: true } },
          ),
        );
        this.#s.destroy();
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#s.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id, ...req })}\n`);
    });
  }

  /** Stream log records from now on (`logs -f`); resolves with the last sequence number written. */
  async subscribe(names: string[], onEvent: (e: LogRecord) => void): Promise<number> {
    this.#onEvent = onEvent;
    const r = await this.request({ op: 'subscribe', names });
    return Number(r['seq']);
  }

  /** Resolves when the connection ends (the background process stopped). */
  get closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#s.destroyed) resolve();
      else this.#s.once('close', () => resolve());
    });
  }

  close(): void {
    this.#s.destroy();
  }

  #line(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#fail(new TunnelError('ERR_DAEMON_PROTOCOL', 'the background process sent a line that is not JSON'));
      return;
    }
    if (!isRecord(msg)) return;
    if (msg['v'] !== PROTOCOL_VERSION) {
      this.#fail(new TunnelError('ERR_DAEMON_PROTOCOL', versionMismatch(msg['v'], PROTOCOL_VERSION, 'client')));
      return;
    }
    if (isRecord(msg['event'])) {
      this.#onEvent?.(msg['event'] as LogRecord);
      return;
    }
    const id = typeof msg['id'] === 'number' ? msg['id'] : -1;
    // A reply the server could not tie to a request id (id 0) answers the oldest one.
    const key = this.#pending.has(id) ? id : this.#pending.keys().next().value;
    const p = key === undefined ? undefined : this.#pending.get(key);
    if (key === undefined || p === undefined) return;
    this.#pending.delete(key);
    if (msg['ok'] === true) p.resolve(msg);
    else {
      const err = isRecord(msg['error']) ? msg['error'] : {};
      const code = typeof err['code'] === 'string' ? err['code'] : 'ERR_DAEMON_PROTOCOL';
      const known = isKnownCode(code) ? code : 'ERR_DAEMON_PROTOCOL';
      const message: unknown = err['message'] ?? 'the background process refused the request';
      p.reject(new TunnelError(known, String(message)));
    }
  }

  #fail(e: Error): void {
    if (this.#closedError === undefined) this.#closedError = e;
    for (const p of this.#pending.values()) p.reject(this.#closedError);
    this.#pending.clear();
    this.#s.destroy();
  }
}

import { ERROR_CODES } from '../errors.js';
function isKnownCode(c: string): c is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(c);
}

export interface SpawnOptions {
  /** Path of the `tunnel` script to run as `tunnel daemon`. */
  scriptPath: string;
  env: Readonly<Record<string, string | undefined>>;
  clientVersion: string;
  /** How long to wait for the lock and for the new process to answer; default 20 s. */
  timeoutMs?: number;
  /** How long a request may go unanswered (before `up`'s own wait); default 15 s. */
  requestTimeoutMs?: number;
}

/** Connect to the background process, starting it (under the start lock) when none answers. */
export async function connectOrStart(
  paths: DaemonPaths,
  o: SpawnOptions,
): Promise<{ client: ControlClient; started: boolean }> {
  try {
    return { client: await ControlClient.connect(paths, o.clientVersion, o.requestTimeoutMs), started: false };
  } catch (e) {
    // A process that is there but does not answer is not replaced behind its back.
    if (!isTunnelError(e, 'ERR_DAEMON_NOT_RUNNING') || e.details['unresponsive'] === true) throw e;
  }
  ensurePrivateDir(paths);
  const timeoutMs = o.timeoutMs ?? 20_000;
  const lock = await acquireStartLock(paths.lock, timeoutMs);
  try {
    // Whoever held the lock before us may have started it.
    try {
      return { client: await ControlClient.connect(paths, o.clientVersion, o.requestTimeoutMs), started: false };
    } catch (e) {
      if (!isTunnelError(e, 'ERR_DAEMON_NOT_RUNNING') || e.details['unresponsive'] === true) throw e;
    }
    // Nothing answers on the socket: a file left there is stale (its process was killed).
    try {
      unlinkSync(paths.socket);
    } catch {
      // Not there.
    }
    await spawnDaemon(o, timeoutMs);
    return { client: await ControlClient.connect(paths, o.clientVersion, o.requestTimeoutMs), started: true };
  } finally {
    lock.release();
  }
}

/** `tunnel daemon`, detached, in its own session; resolves once it says it is listening. */
function spawnDaemon(o: SpawnOptions, timeoutMs: number): Promise<void> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.env)) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [o.scriptPath, 'daemon', '--spawned'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env,
    cwd: '/',
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new TunnelError('ERR_DAEMON_START_FAILED', `the background process did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.stderr?.destroy();
      child.unref();
      if (err === undefined) resolve();
      else reject(err);
    };
    child.on('message', (m: unknown) => {
      if (isRecord(m) && m['ready'] === true) finish();
      else if (isRecord(m) && typeof m['error'] === 'string')
        finish(new TunnelError('ERR_DAEMON_START_FAILED', `the background process could not start: ${m['error']}`));
    });
    child.once('error', (e) =>
      finish(
        new TunnelError('ERR_DAEMON_START_FAILED', `cannot start the background process: ${e.message}`, { cause: e }),
      ),
    );
    child.once('exit', (code, sig) =>
      finish(
        new TunnelError(
          'ERR_DAEMON_START_FAILED',
          `the background process exited at start (${sig ?? `status ${code ?? '?'}`})${stderr === '' ? '' : `: ${stderr.trim().split('\n').slice(-3).join(' | ')}`}`,
        ),
      ),
    );
  });
}

/** Wait (bounded, 5 s) until `pid` has exited, so `tunnel down` returns when the process is gone. */
export async function waitForExit(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
      // Exited but not yet reaped (Linux): gone as far as anyone can tell.
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch (e) {
      if (errnoOf(e) === 'ESRCH') return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
