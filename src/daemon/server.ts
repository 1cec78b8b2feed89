/**
 * The background process: the control socket's server, the registry of forwards, the log.
 *
 * Start-up: private directory, fresh token file (0600), socket bound with umask 0177 so it is
 * created 0600 (then chmod'ed again), pid file. A connection must say `hello` with the token
 * first: only the socket's user (or root) can read the token file, which is this process's
 * same-user check (Node has no SO_PEERCRED; see docs/cli.md). Requests on one connection are
 * answered in order. The process ends on SIGTERM/SIGINT/SIGHUP (every forward stopped with
 * TerminateSession, socket, token and pid file removed) and, unless `keep`, once it holds no
 * forward after a request.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import { TunnelError, isTunnelError } from '../errors.js';
import { RotatingLog, lastSeq } from './log-file.js';
import { ensurePrivateDir } from './paths.js';
import type { DaemonPaths } from './paths.js';
import { LineSplitter, PROTOCOL_VERSION, isRecord, versionMismatch } from './protocol.js';
import type { LogRecord, ReplyLine, UpRequest } from './protocol.js';
import { Registry } from './registry.js';

export interface DaemonOptions {
  paths: DaemonPaths;
  clock: Clock;
  version: string;
  /** Stay up while empty (started by a service manager); default: exit when empty. */
  keep?: boolean;
  /** Exit if no forward arrives within this long after start (not with `keep`); default 60 s. */
  firstRequestMs?: number;
  logMaxBytes?: number;
  onSignal(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP', handler: () => void): () => void;
}

/** Slow `logs -f` readers are dropped once this much is buffered for them. */
const MAX_SUBSCRIBER_BUFFER = 1 << 20;

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Not there.
  }
}

/** Is a live process answering on `path`? (ECONNREFUSED/ENOENT: no.) */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #log: RotatingLog;
  readonly #registry: Registry;
  readonly #token = randomBytes(32).toString('hex');
  readonly #subscribers = new Map<Socket, ReadonlySet<string>>();
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #seq: number;
  #stopping: Promise<void> | undefined;
  #done!: () => void;
  readonly finished = new Promise<void>((r) => (this.#done = r));
  #idleTimer: TimerHandle | undefined;
  readonly #startedAt: string;

  constructor(options: DaemonOptions) {
    this.#o = options;
    ensurePrivateDir(options.paths);
    this.#seq = lastSeq(options.paths.log);
    this.#log = new RotatingLog(options.paths.log, options.logMaxBytes);
    this.#registry = new Registry({ clock: options.clock, record: (r) => this.record(r) });
    this.#startedAt = new Date(options.clock.wallNow()).toISOString();
  }

  /** Append to the log and stream to subscribers. */
  record(r: { type: string; forward?: string; project?: string; [k: string]: unknown }): void {
    const rec: LogRecord = { ...r, seq: ++this.#seq, time: new Date(this.#o.clock.wallNow()).toISOString() };
    this.#log.write(rec);
    for (const [s, names] of this.#subscribers) {
      if (names.size > 0 && (rec.forward === undefined || !names.has(rec.forward))) continue;
      if (s.writableLength > MAX_SUBSCRIBER_BUFFER) {
        this.#subscribers.delete(s);
        s.destroy();
        continue;
      }
      s.write(`${JSON.stringify({ v: PROTOCOL_VERSION, event: rec })}\n`);
    }
  }

  /** Bind the socket; rejects with ERR_DAEMON_START_FAILED if a live process already serves it. */
  async listen(): Promise<void> {
    const { paths } = this.#o;
    if (await socketAlive(paths.socket)) {
      throw new TunnelError('ERR_DAEMON_START_FAILED', `a background tunnel process already serves ${paths.socket}`);
    }
    // Stale: its process is gone (the caller holds the start lock, or is alone).
    unlinkQuiet(paths.socket);
    const tmp = `${paths.token}.${process.pid}`;
    writeFileSync(tmp, `${this.#token}\n`, { mode: 0o600 });
    renameSync(tmp, paths.token);
    const server = createServer((s) => this.#accept(s));
    this.#server = server;
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(paths.socket, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    if (process.platform !== 'win32') chmodSync(paths.socket, 0o600);
    writeFileSync(paths.pid, `${process.pid}\n`, { mode: 0o600 });
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      this.#o.onSignal(sig, () => {
        this.record({ type: 'daemon', message: `${sig}: stopping every forward` });
        void this.stop();
      });
    }
    this.record({
      type: 'daemon',
      message: `started (pid ${process.pid}, tunnel ${this.#o.version}, protocol v${PROTOCOL_VERSION})`,
      pid: process.pid,
    });
    if (this.#o.keep !== true) {
      this.#idleTimer = this.#o.clock.setTimeout(
        () => this.#exitIfEmpty('nothing to hold'),
        this.#o.firstRequestMs ?? 60_000,
      );
    }
  }

  /** Stop every forward, close everything, remove socket, token and pid file. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#idleTimer !== undefined) this.#o.clock.clearTimeout(this.#idleTimer);
      this.#server?.close();
      const { paths } = this.#o;
      unlinkQuiet(paths.socket);
      await this.#registry.stopAll();
      this.record({ type: 'daemon', message: 'stopped' });
      for (const s of this.#sockets) s.end();
      unlinkQuiet(paths.token);
      unlinkQuiet(paths.pid);
      this.#log.close();
      this.#done();
    })();
    return this.#stopping;
  }

  #exitIfEmpty(why: string): void {
    if (this.#o.keep === true || this.#registry.size > 0 || this.#stopping !== undefined) return;
    this.record({ type: 'daemon', message: `holding no forwards (${why}): exiting` });
    void this.stop();
  }

  #accept(s: Socket): void {
    this.#sockets.add(s);
    s.setEncoding('utf8');
    const splitter = new LineSplitter();
    let authed = false;
    let chain = Promise.resolve();
    const reply = (line: ReplyLine): void => {
      if (!s.destroyed) s.write(`${JSON.stringify(line)}\n`);
    };
    const refuse = (id: number, code: string, message: string): void => {
      reply({ v: PROTOCOL_VERSION, id, ok: false, error: { code, message } });
      s.end();
    };
    s.on('close', () => {
      this.#sockets.delete(s);
      this.#subscribers.delete(s);
    });
    s.on('error', () => s.destroy());
    s.on('data', (chunk: string) => {
      try {
        splitter.push(chunk, (line) => {
          let msg: unknown;
          try {
            msg = JSON.parse(line);
          } catch {
            refuse(0, 'ERR_DAEMON_PROTOCOL', 'control messages are JSON objects, one per line');
            return;
          }
          const id = isRecord(msg) && typeof msg['id'] === 'number' ? msg['id'] : 0;
          if (!isRecord(msg) || msg['v'] !== PROTOCOL_VERSION) {
            refuse(
              id,
              'ERR_DAEMON_PROTOCOL',
              versionMismatch(isRecord(msg) ? msg['v'] : undefined, PROTOCOL_VERSION, 'server'),
            );
            return;
          }
          if (!authed) {
            if (msg['op'] !== 'hello' || typeof msg['token'] !== 'string' || !this.#tokenOk(msg['token'])) {
              this.record({ type: 'daemon', message: 'refused a connection that did not present the token' });
              refuse(
                id,
                'ERR_DAEMON_ACCESS',
                'refused: the client could not prove it is the same user (token file unreadable or wrong)',
              );
              return;
            }
            authed = true;
            reply({ v: PROTOCOL_VERSION, id, ok: true, server: this.#o.version, pid: process.pid });
            return;
          }
          chain = chain.then(async () => {
            try {
              reply({ v: PROTOCOL_VERSION, id, ok: true, ...(await this.#handle(msg, s)) });
            } catch (err) {
              const code = isTunnelError(err) ? err.code : 'ERR_DAEMON_PROTOCOL';
              reply({
                v: PROTOCOL_VERSION,
                id,
                ok: false,
                error: { code, message: err instanceof Error ? err.message : String(err) },
              });
            }
            if (msg['op'] === 'up' || msg['op'] === 'down') this.#exitIfEmpty(`after ${String(msg['op'])}`);
          });
        });
      } catch (err) {
        refuse(0, 'ERR_DAEMON_PROTOCOL', err instanceof Error ? err.message : String(err));
      }
    });
  }

  #tokenOk(t: string): boolean {
    const a = Buffer.from(t);
    const b = Buffer.from(this.#token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async #handle(msg: Record<string, unknown>, s: Socket): Promise<Record<string, unknown>> {
    const names = Array.isArray(msg['names']) ? msg['names'].filter((n): n is string => typeof n === 'string') : [];
    switch (msg['op']) {
      case 'status':
        return {
          pid: process.pid,
          version: this.#o.version,
          startedAt: this.#startedAt,
          log: this.#o.paths.log,
          forwards: this.#registry.status(names),
        };
      case 'up': {
        if (this.#idleTimer !== undefined) this.#o.clock.clearTimeout(this.#idleTimer);
        const req = msg as unknown as UpRequest;
        if (!Array.isArray(req.forwards) || typeof req.project !== 'string' || !isRecord(req.aws)) {
          throw new TunnelError('ERR_DAEMON_PROTOCOL', 'malformed up request');
        }
        const out = await this.#registry.up(req);
        return { ...out };
      }
      case 'down': {
        const project = typeof msg['project'] === 'string' ? msg['project'] : undefined;
        const out = await this.#registry.down({
          names,
          all: msg['all'] === true,
          ...(project === undefined ? {} : { project }),
        });
        // The client waits for the process to be gone only when it is about to go.
        return { ...out, exiting: out.remaining === 0 && this.#o.keep !== true };
      }
      case 'subscribe':
        this.#subscribers.set(s, new Set(names));
        return { seq: this.#seq };
      default:
        throw new TunnelError('ERR_DAEMON_PROTOCOL', `unknown request ${JSON.stringify(msg['op'])}`);
    }
  }
}
