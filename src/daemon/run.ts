/**
 * `tunnel daemon`: run the background process in this process until it is stopped. Started by
 * `tunnel up -d` (detached, `--spawned`, with an IPC channel to say "ready" on; the starter
 * holds the start lock) or by a service manager (systemd/launchd, `--keep`: stays up while
 * empty; takes the start lock itself).
 */
import type { Clock } from '../clock.js';
import { acquireStartLock } from './lock.js';
import type { LockHandle } from './lock.js';
import { ensurePrivateDir } from './paths.js';
import type { DaemonPaths } from './paths.js';
import { Daemon } from './server.js';

export interface RunDaemonOptions {
  paths: DaemonPaths;
  clock: Clock;
  version: string;
  keep: boolean;
  spawned: boolean;
  logMaxBytes?: number;
  onSignal: (signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP', handler: () => void) => () => void;
  /** A line for whoever started us in the foreground. */
  say(text: string): void;
}

export async function runDaemon(o: RunDaemonOptions): Promise<number> {
  let lock: LockHandle | undefined;
  let daemon: Daemon;
  try {
    ensurePrivateDir(o.paths);
    if (!o.spawned) lock = await acquireStartLock(o.paths.lock, 20_000);
    daemon = new Daemon({
      paths: o.paths,
      clock: o.clock,
      version: o.version,
      keep: o.keep,
      onSignal: o.onSignal,
      ...(o.logMaxBytes === undefined ? {} : { logMaxBytes: o.logMaxBytes }),
    });
    await daemon.listen();
  } catch (e) {
    if (o.spawned && process.send !== undefined) {
      process.send({ error: e instanceof Error ? e.message : String(e) });
    }
    throw e;
  } finally {
    lock?.release();
  }
  process.on('uncaughtException', (e) => {
    daemon.record({ type: 'daemon', message: `internal error: ${e.stack ?? e.message}` });
    void daemon.stop().finally(() => process.exit(70));
  });
  if (o.spawned && process.send !== undefined) {
    process.send({ ready: true });
    process.disconnect?.();
  } else {
    o.say(`tunnel: background process listening on ${o.paths.socket} (pid ${process.pid}); log ${o.paths.log}`);
  }
  await daemon.finished;
  return 0;
}
