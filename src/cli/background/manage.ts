/** `tunnel status`, `tunnel down`, `tunnel logs`: the background process's forwards. */
import { resolve } from 'node:path';
import { UsageError, isTunnelError } from '../../errors.js';
import { findProjectConfig } from '../../config/load.js';
import { waitForExit } from '../../daemon/client.js';
import type { ControlClient } from '../../daemon/client.js';
import { readLog } from '../../daemon/log-file.js';
import type { BackgroundStatus, Change, LogRecord, StatusReply } from '../../daemon/protocol.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';
import { formatAddress, formatBytes, formatRate, table } from '../output/format.js';
import { redactKeys } from '../output/redact.js';
import { describeEvent } from '../output/renderer.js';
import { connectRunning, pathsFor, projectLabel } from './common.js';

function isUp(s: BackgroundStatus): boolean {
  return s.state === 'ready' || s.state === 'idle';
}

export function backgroundRows(io: CliIo, list: readonly BackgroundStatus[]): string[][] {
  const rows = [['PROJECT', 'FORWARD', 'LOCAL', 'TARGET', 'STATE', 'SESS', 'CONN', 'IN', 'OUT', 'RATE', 'LAST ERROR']];
  for (const s of list) {
    rows.push([
      projectLabel(io, s.project),
      s.name,
      s.addresses.map((a) => formatAddress(a.address, a.port)).join(' ') || '-',
      `${s.target ?? '?'} ${s.remote}`,
      s.state,
      String(s.sessions.length),
      `${s.connections.active}/${s.connections.total}`,
      formatBytes(s.bytesIn),
      formatBytes(s.bytesOut),
      `↓${formatRate(s.rateInBps)} ↑${formatRate(s.rateOutBps)}`,
      s.error === undefined ? '' : `${s.error.code}: ${s.error.message}`,
    ]);
  }
  return rows;
}

async function fetchStatus(client: ControlClient, names: string[]): Promise<StatusReply> {
  const r = await client.request({ op: 'status', names });
  return {
    pid: Number(r['pid']),
    version: String(r['version']),
    startedAt: String(r['startedAt']),
    forwards: r['forwards'] as BackgroundStatus[],
  };
}

/** Exit status 0 when every listed forward is ready (or lazily idle), 1 otherwise. */
export async function status(io: CliIo, args: GlobalArgs, names: string[], watch: boolean): Promise<number> {
  const client = await connectRunning(io);
  try {
    let snap = await fetchStatus(client, names);
    const print = (first: boolean): void => {
      if (args.json) {
        io.stdout.write(
          `${JSON.stringify(redactKeys({ type: 'status', time: new Date(io.clock.wallNow()).toISOString(), ...snap }))}\n`,
        );
        return;
      }
      const lines = table(backgroundRows(io, snap.forwards));
      const head = `background process pid ${snap.pid} (tunnel ${snap.version}), ${snap.forwards.length} forward${snap.forwards.length === 1 ? '' : 's'}`;
      const body = `${head}\n${lines.join('\n')}\n`;
      if (watch && io.isTTY && !first) io.stdout.write(`\x1b[${lines.length + 1}A\x1b[J${body}`);
      else io.stdout.write(`${watch && !io.isTTY && !first ? '\n' : ''}${body}`);
    };
    print(true);
    if (watch) {
      // Redraw every second until a signal or until the background process goes away.
      await new Promise<void>((done) => {
        let timer: ReturnType<CliIo['clock']['setTimeout']> | undefined;
        const stop = (): void => {
          if (timer !== undefined) io.clock.clearTimeout(timer);
          for (const u of unsub) u();
          done();
        };
        const unsub = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => io.onSignal(s, stop));
        void client.closed.then(stop);
        const tick = (): void => {
          timer = io.clock.setTimeout(() => {
            fetchStatus(client, names)
              .then((s) => {
                snap = s;
                print(false);
                tick();
              })
              .catch(stop);
          }, 1000);
        };
        tick();
      });
    }
    return snap.forwards.length > 0 && snap.forwards.every(isUp) ? 0 : 1;
  } finally {
    client.close();
  }
}

async function currentProject(io: CliIo, args: GlobalArgs): Promise<string | undefined> {
  if (args.config !== undefined) return resolve(io.cwd, args.config);
  return findProjectConfig(io.cwd);
}

export async function down(io: CliIo, args: GlobalArgs, names: string[], all: boolean): Promise<number> {
  let project: string | undefined;
  if (!all && names.length === 0) {
    project = await currentProject(io, args);
    if (project === undefined)
      throw new UsageError('no .tunnel.yaml here: name the forwards to stop, or use `tunnel down --all`');
  }
  let client: ControlClient;
  try {
    client = await connectRunning(io);
  } catch (e) {
    if (all && isTunnelError(e, 'ERR_DAEMON_NOT_RUNNING')) {
      if (!args.quiet && !args.json) io.stderr.write('no background process is running\n');
      return 0;
    }
    throw e;
  }
  try {
    const pid = client.server.pid;
    const r = (await client.request({
      op: 'down',
      names,
      all,
      ...(project === undefined ? {} : { project }),
    })) as unknown as { changes: Change[]; remaining: number; exiting?: boolean };
    for (const c of r.changes) {
      if (args.json)
        io.stdout.write(
          `${JSON.stringify({ type: 'stopped', time: new Date(io.clock.wallNow()).toISOString(), project: c.project, forward: c.forward })}\n`,
        );
      else if (!args.quiet) io.stdout.write(`${c.forward}: stopped\n`);
    }
    if (r.changes.length === 0 && !args.quiet && !args.json)
      io.stderr.write('no background forwards of this project\n');
    if (r.exiting === true) {
      // Bounded: stopping the forwards takes about 2 s.
      let timer: ReturnType<CliIo['clock']['setTimeout']> | undefined;
      await Promise.race([client.closed, new Promise<void>((r) => (timer = io.clock.setTimeout(r, 10_000)))]);
      if (timer !== undefined) io.clock.clearTimeout(timer);
      await waitForExit(pid);
      if (!args.quiet && !args.json) io.stderr.write(`background process ${pid} exited (it holds no forwards)\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}

const CHANGE_LOG: Record<string, string> = {
  added: 'added by `tunnel up -d`',
  restarted: 'changed in the config: restarting',
  unchanged: 'unchanged: left alone',
  removed: 'no longer in the config: stopping',
  stopped: 'stopping (`tunnel down`)',
};

/** One log record as a line: `TIME  [project] text`. */
export function formatRecord(io: CliIo, r: LogRecord): string {
  const time = typeof r.time === 'string' ? r.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
  let text: string;
  const message: unknown = r['message'] ?? '';
  if (r.type === 'daemon') text = `background process: ${String(message)}`;
  else if (r.type === 'change') text = `${r.forward ?? '?'}: ${CHANGE_LOG[String(r['action'])] ?? String(r['action'])}`;
  else text = describeEvent(r, true) ?? `${r.forward === undefined ? '' : `${r.forward}: `}${r.type}`;
  const where = typeof r.project === 'string' ? `[${projectLabel(io, r.project)}] ` : '';
  return `${time}  ${where}${text}`;
}

export async function logs(io: CliIo, args: GlobalArgs, names: string[], follow: boolean): Promise<number> {
  const paths = pathsFor(io);
  const wanted = (r: LogRecord): boolean =>
    names.length === 0 || (r.forward !== undefined && names.includes(r.forward));
  const print = (r: LogRecord): void => {
    if (!wanted(r)) return;
    io.stdout.write(args.json ? `${JSON.stringify(redactKeys(r))}\n` : `${formatRecord(io, r)}\n`);
  };
  if (!follow) {
    for (const r of readLog(paths.log)) print(r);
    return 0;
  }
  const client = await connectRunning(io);
  try {
    // Subscribe first, then read the file: records that arrive in between are printed once.
    const early: LogRecord[] = [];
    let live = false;
    let last = 0;
    await client.subscribe(names, (r) => {
      if (!live) early.push(r);
      else if (r.seq > last) {
        last = r.seq;
        print(r);
      }
    });
    for (const r of readLog(paths.log)) {
      print(r);
      last = Math.max(last, r.seq);
    }
    for (const r of early) if (r.seq > last) print(r);
    for (const r of early) last = Math.max(last, r.seq);
    live = true;
    await new Promise<void>((done) => {
      const unsub = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) =>
        io.onSignal(s, () => {
          for (const u of unsub) u();
          done();
        }),
      );
      void client.closed.then(() => {
        for (const u of unsub) u();
        done();
      });
    });
    return 0;
  } finally {
    client.close();
  }
}
