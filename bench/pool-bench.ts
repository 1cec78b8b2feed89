/**
 * Issue 13's benchmark phases: the adaptive session pool against the paced emulator (16
 * concurrent downloads and `pgbench -c 16 -j 2 -T 10`, `sessions: auto` vs `sessions: 1`), and
 * the tunnel's memory idle and under one slow reader against the unpaced one.
 *
 * PostgreSQL comes from scripts/test-services.sh (installed and started when missing); pgbench
 * talks to it through the tunnel: the emulated agent dials 127.0.0.1:<its port>.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchChild } from './children.js';
import { download } from './load.js';
import { round } from './stats.js';
import { SOURCE_REQUEST_BYTES } from './services.js';
import type { BenchResults } from './results.js';
import type { TunnelProcConfig } from './tunnel-proc.js';

export interface PoolBenchDeps {
  root: string;
  services: { source: number };
  startTunnel(
    name: string,
    forwards: TunnelProcConfig['forwards'],
    sampleRss?: boolean,
  ): Promise<{
    child: BenchChild;
    ports: Map<string, number>;
  }>;
  record(label: string, unit: string, values: number[]): void;
  note(text: string): void;
  log(text: string): void;
}

interface Usage {
  rss_MB: number;
  rss_peak_MB: number;
  max_rss_MB: number;
}

const MiB = 1024 * 1024;

async function sixteenDownloads(port: number, seedBase: number): Promise<number> {
  const start = process.hrtime.bigint();
  const all = await Promise.all(Array.from({ length: 16 }, (_, k) => download(port, seedBase + k, MiB, 180_000)));
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  return all.reduce((n, r) => n + r.bytes, 0) / 1e6 / s;
}

/** Start PostgreSQL (scripts/test-services.sh) and initialise pgbench's tables; its port. */
function startPostgres(root: string): number {
  const out = execFileSync('bash', [join(root, 'scripts', 'test-services.sh'), 'start'], {
    encoding: 'utf8',
    env: process.env,
  });
  const port = Number(/TUNNEL_TEST_PG_PORT=(\d+)/.exec(out)?.[1] ?? 'NaN');
  if (!Number.isInteger(port)) throw new Error(`test-services.sh printed no PostgreSQL port: ${out}`);
  execFileSync(
    'pgbench',
    ['-i', '-q', '-s', '16', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'postgres'],
    {
      stdio: 'ignore',
    },
  );
  return port;
}

/**
 * What a database GUI or a test suite reads: a 100-row range of pgbench_accounts (about 11 KB
 * per transaction), so the agent's per-session pacing (about 1 MB/s) is what limits it. The
 * default TPC-B transaction moves about 250 bytes in seven round trips: it is bound by latency,
 * which more sessions cannot shorten.
 */
const RANGE_SCRIPT =
  '\\set aid random(1, 1599900)\nSELECT * FROM pgbench_accounts WHERE aid BETWEEN :aid AND :aid + 99;\n';

/** `pgbench -c 16 -j 2 -T 10` through `port` (TPC-B, or the range script); transactions per second. */
function pgbench(port: number, scriptFile?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = ['-c', '16', '-j', '2', '-T', '10', '-n', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];
    if (scriptFile !== undefined) args.push('-f', scriptFile);
    const child = spawn('pgbench', [...args, 'postgres'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1];
      if (code !== 0 || tps === undefined) reject(new Error(`pgbench exited ${code}: ${out.slice(-400)}`));
      else resolve(Number(tps));
    });
  });
}

export async function poolPhase(d: PoolBenchDeps, r: BenchResults): Promise<void> {
  let pgPort: number | undefined;
  try {
    pgPort = startPostgres(d.root);
  } catch (e) {
    d.note(`pool: PostgreSQL unavailable, pgbench not run: ${e instanceof Error ? e.message : String(e)}`);
  }
  const forwards: TunnelProcConfig['forwards'] = [
    { name: 'auto', remotePort: d.services.source, sessions: 'auto' },
    { name: 'one', remotePort: d.services.source, sessions: 1 },
  ];
  if (pgPort !== undefined)
    forwards.push(
      { name: 'pg_auto', remotePort: pgPort, sessions: 'auto' },
      { name: 'pg_one', remotePort: pgPort, sessions: 1 },
    );
  const t = await d.startTunnel('tunnel(pool)', forwards);
  try {
    const port = (n: string): number => t.ports.get(n) ?? 0;
    const one = await sixteenDownloads(port('one'), 1300);
    const auto = await sixteenDownloads(port('auto'), 1400);
    const status = await t.child.request<Array<{ name: string; pool?: { opened: number } }>>('status');
    const opened = status.find((s) => s.name === 'auto')?.pool?.opened ?? null;
    d.log(
      `pool: 16 × 1 MiB paced: sessions 1 ${one.toFixed(3)} MB/s, auto ${auto.toFixed(3)} MB/s (${opened} sessions)`,
    );
    d.record('paced 16 × 1 MiB downloads, sessions: 1', 'MB/s', [one]);
    d.record('paced 16 × 1 MiB downloads, sessions: auto', 'MB/s', [auto]);
    r.pool.conns16_sessions1_MBps = round(one, 3);
    r.pool.conns16_auto_MBps = round(auto, 3);
    r.pool.sessions_opened = opened;
    if (pgPort !== undefined) {
      const tps1 = await pgbench(port('pg_one'));
      const tpsAuto = await pgbench(port('pg_auto'));
      d.log(`pool: pgbench -c 16: sessions 1 ${tps1} tps, auto ${tpsAuto} tps`);
      d.record('paced pgbench -c 16 -j 2 -T 10, sessions: 1', 'tps', [tps1]);
      d.record('paced pgbench -c 16 -j 2 -T 10, sessions: auto', 'tps', [tpsAuto]);
      r.pool.pgbench16_sessions1_tps = round(tps1, 1);
      r.pool.pgbench16_auto_tps = round(tpsAuto, 1);
      const script = join(mkdtempSync(join(tmpdir(), 'tunnel-bench-')), 'pgbench-range.sql');
      writeFileSync(script, RANGE_SCRIPT);
      const range1 = await pgbench(port('pg_one'), script);
      const rangeAuto = await pgbench(port('pg_auto'), script);
      d.log(`pool: pgbench -c 16, 100-row ranges: sessions 1 ${range1} tps, auto ${rangeAuto} tps`);
      d.record('paced pgbench -c 16 -j 2 -T 10, 100-row ranges, sessions: 1', 'tps', [range1]);
      d.record('paced pgbench -c 16 -j 2 -T 10, 100-row ranges, sessions: auto', 'tps', [rangeAuto]);
      r.pool.pgbench16_range_sessions1_tps = round(range1, 1);
      r.pool.pgbench16_range_auto_tps = round(rangeAuto, 1);
    }
  } finally {
    await t.child.stop(10_000);
  }
}

/**
 * Idle RSS of a tunnel with one ready forward, then its peak while one client reads an unpaced
 * 300 MB download at 2 MB/s and six 1 MiB probes (one every 5 s) run through the same forward,
 * with the default `sessions: auto` (the pool opens a session for the probes).
 */
export async function memoryPhase(d: PoolBenchDeps, r: BenchResults): Promise<void> {
  const t = await d.startTunnel(
    'tunnel(memory)',
    [{ name: 'source', remotePort: d.services.source, sessions: 'auto' }],
    true,
  );
  try {
    const port = t.ports.get('source') ?? 0;
    const idle = (await t.child.request<Usage>('usage')).rss_MB;
    await t.child.request('reset-peak');
    const slow = net.connect(port, '127.0.0.1');
    slow.on('error', () => undefined);
    const req = Buffer.alloc(SOURCE_REQUEST_BYTES);
    req.writeUInt32BE(7, 0);
    req.writeBigUInt64BE(BigInt(300_000_000), 4);
    slow.write(req);
    let got = 0;
    const t0 = performance.now();
    slow.on('data', (b: Buffer) => {
      got += b.length;
      const ahead = (got / 2e6) * 1000 - (performance.now() - t0);
      if (ahead > 0 && !slow.isPaused()) {
        slow.pause();
        setTimeout(() => slow.resume(), ahead);
      }
    });
    let probesOk = 0;
    for (let i = 0; i < 6; i++) {
      await new Promise((res) => setTimeout(res, 5000));
      probesOk += await download(port, 1500 + i, MiB, 20_000).then(
        () => 1,
        (e: unknown) => (d.log(`memory: probe ${i}: ${e instanceof Error ? e.message : String(e)}`), 0),
      );
    }
    const u = await t.child.request<Usage>('usage');
    slow.destroy();
    const peak = Math.max(u.rss_peak_MB, u.max_rss_MB);
    d.log(
      `memory: idle ${idle.toFixed(1)} MB, slow reader peak ${peak.toFixed(1)} MB, probes ${probesOk}/6, read ${got}`,
    );
    d.record('tunnel RSS idle', 'MB', [idle]);
    d.record('tunnel peak RSS, one slow reader', 'MB', [peak]);
    r.memory.idle_rss_MB = round(idle, 1);
    r.memory.slow_reader_peak_rss_MB = round(peak, 1);
    if (probesOk < 6) d.note(`memory: ${probesOk} of 6 probes completed beside the slow reader`);
  } finally {
    await t.child.stop(10_000);
  }
}
