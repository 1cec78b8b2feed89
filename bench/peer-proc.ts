/**
 * Benchmark child process 3 (`--peer PATH`): the official `session-manager-plugin`, started
 * exactly as the AWS CLI starts it, one plugin process per forward, against the emulator.
 *
 * For each forward this process calls StartSession (AWS-StartPortForwardingSession, with the
 * `localPortNumber` it picked) with the AWS SDK against the emulator's endpoint, then spawns the
 * plugin with the CLI's six arguments: the response JSON `{SessionId,TokenValue,StreamUrl}`, the
 * region, `StartSession`, an empty profile, the request JSON and the endpoint URL. The plugin
 * listens on that local port and prints `Port N opened for sessionId …` on stdout when it is.
 *
 * argv[2]: JSON `PeerProcConfig`.
 * stdout:  one line `{"type":"ready","startMs","forwards":[{name,state,port,pid}],"version"}`.
 * IPC:     'usage' → `{ cpu_s, max_rss_MB }` summed over the plugin processes (Linux /proc: the
 *          plugin is a Go binary, so its CPU and memory are read from outside); 'stop' → SIGINT
 *          to every plugin (its Ctrl-C path: it terminates the session), SIGKILL after a grace
 *          period, then exit. The plugins also die when this process loses its parent.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { announceReady, serveParent } from './children.js';

export interface PeerProcConfig {
  plugin: string;
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  instanceId: string;
  forwards: Array<{ name: string; remotePort: number }>;
}

export interface PeerForward {
  name: string;
  state: 'ready' | 'failed';
  port: number;
  pid: number;
  error?: { code: string; message: string };
}

/** How long one plugin may take from spawn to its "Port N opened" line (ms). */
const READY_TIMEOUT_MS = 20_000;
/** Grace period after SIGINT before SIGKILL (ms). */
const STOP_GRACE_MS = 3_000;
/** The plugin's readiness line (sessionmanagerplugin port forwarding, stdout). */
const OPENED_RE = /Port (\d+) opened for sessionId/;

/** A free loopback port: bind port 0, read it, close (the plugin binds it a moment later). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
  srv.close();
  await once(srv, 'close');
  if (p === 0) throw new Error('could not pick a free local port');
  return p;
}

/** Kernel clock ticks per second, for /proc/<pid>/stat utime/stime. */
function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** CPU seconds (user+system) and peak RSS (VmHWM) of one live process, from /proc. */
function procUsage(pid: number, ticks: number): { cpu_s: number; max_rss_MB: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): state is field 3,
    // utime field 14, stime field 15 (proc(5)).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(rest[11] ?? 0) + Number(rest[12] ?? 0)) / ticks;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpu_s: cpu, max_rss_MB: (Number(hwm?.[1] ?? 0) * 1024) / 1e6 };
  } catch {
    return { cpu_s: 0, max_rss_MB: 0 };
  }
}

async function startOne(
  cfg: PeerProcConfig,
  f: { name: string; remotePort: number },
  client: SSMClient,
  live: Set<ChildProcess>,
): Promise<PeerForward> {
  const localPort = await freePort();
  const request = {
    Target: cfg.instanceId,
    DocumentName: 'AWS-StartPortForwardingSession',
    Parameters: { portNumber: [String(f.remotePort)], localPortNumber: [String(localPort)] },
  };
  const res = await client.send(new StartSessionCommand(request));
  const response = JSON.stringify({ SessionId: res.SessionId, TokenValue: res.TokenValue, StreamUrl: res.StreamUrl });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    AWS_ACCESS_KEY_ID: cfg.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: cfg.credentials.secretAccessKey,
    AWS_REGION: cfg.region,
    AWS_DEFAULT_REGION: cfg.region,
  };
  const proc = spawn(cfg.plugin, [response, cfg.region, 'StartSession', '', JSON.stringify(request), cfg.endpoint], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  const tail: string[] = [];
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => {
    tail.push(s);
    if (tail.length > 20) tail.shift();
    if (process.env['BENCH_VERBOSE'] !== undefined) process.stderr.write(`[plugin ${f.name}] ${s}`);
  });
  const stdout = proc.stdout;
  if (stdout === null) throw new Error('plugin has no stdout');
  const lines = createInterface({ input: stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "Port N opened" line within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    lines.on('line', (line) => {
      if (process.env['BENCH_VERBOSE'] !== undefined) process.stderr.write(`[plugin ${f.name}] ${line}\n`);
      const m = OPENED_RE.exec(line);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(
        new Error(`plugin exited (code ${code}, signal ${sig}) before ready: ${tail.join('').trim().slice(-400)}`),
      );
    });
  });
  // Keep draining stdout (the plugin prints per-connection lines) so it never blocks on a full pipe.
  return { name: f.name, state: 'ready', port, pid: proc.pid ?? 0 };
}

async function stopAll(live: Set<ChildProcess>): Promise<void> {
  const all = [...live];
  await Promise.all(
    all.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const timer = setTimeout(() => p.kill('SIGKILL'), STOP_GRACE_MS);
      p.kill('SIGINT');
      await once(p, 'exit');
      clearTimeout(timer);
    }),
  );
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as PeerProcConfig;
  const live = new Set<ChildProcess>();
  const killAll = (): void => {
    for (const p of live) p.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  const creds = cfg.credentials;
  const client = new SSMClient({ endpoint: cfg.endpoint, region: cfg.region, credentials: creds, maxAttempts: 1 });
  const ticks = clockTicks();
  let version = 'unknown';
  try {
    version = execFileSync(cfg.plugin, ['--version'], { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    // reported as unknown
  }

  serveParent(
    {
      usage: () => {
        let cpu = 0;
        let rss = 0;
        for (const p of live) {
          const u = procUsage(p.pid ?? 0, ticks);
          cpu += u.cpu_s;
          rss += u.max_rss_MB;
        }
        return { cpu_s: cpu, max_rss_MB: rss };
      },
    },
    () => stopAll(live),
  );

  const t0 = performance.now();
  // One after another: the plugin processes then start in a known order (the driver maps names).
  const forwards: PeerForward[] = [];
  for (const f of cfg.forwards) {
    try {
      forwards.push(await startOne(cfg, f, client, live));
    } catch (e) {
      forwards.push({
        name: f.name,
        state: 'failed',
        port: 0,
        pid: 0,
        error: { code: 'PEER_START', message: e instanceof Error ? e.message : String(e) },
      });
    }
  }
  const startMs = performance.now() - t0;
  announceReady({ startMs, version, forwards });
}

main().catch((e: unknown) => {
  process.stderr.write(`peer-proc: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
