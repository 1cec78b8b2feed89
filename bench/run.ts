/**
 * `npm run bench`: the benchmark driver (issue #7).
 *
 * Forks the emulator (bench/emulator-proc.ts) and the tunnel (bench/tunnel-proc.ts) as separate
 * processes, generates load on 127.0.0.1, verifies every byte, takes the median of RUNS runs,
 * and writes `bench/results/latest.json`, `docs/benchmarks.md` and `docs/benchmarks.svg`.
 *
 * Flags: `--quick` (small sizes, results to bench/results/quick.json, docs untouched),
 * `--report-only` (re-render the docs from bench/results/latest*.json), `--no-profile`, `--only PHASES` (comma list of paced,cold,direct,unpaced,conns,profile,pool,memory; with `--merge` only those keys are folded into latest.json and the docs re-rendered; otherwise results to
 * bench/results/partial.json, docs untouched; `peer` selects the plugin phases alone), `--peer PATH` (also run the
 * paced and unpaced single-connection, round-trip and 4-connection workloads through the official
 * session-manager-plugin at PATH, bench/peer-proc.ts, against the same emulators; results to
 * bench/results/peer.json, shown side by side in docs/benchmarks.md).
 * Bounded: every step has a timeout, the whole run a watchdog; all children die with the driver.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchChild } from './children.js';
import { download, echoRoundTrips, manyEchoConnections, upload, type TransferResult } from './load.js';
import { median, percentile, round } from './stats.js';
import { emptyResults, evaluateGoals, peerRatio, resultsJson, type BenchResults } from './results.js';
import { readCarriedText, renderMarkdown, renderSvg, type RunDetails } from './report.js';
import { summarizeProfile } from './profile.js';
import type { TunnelProcConfig } from './tunnel-proc.js';
import type { PeerForward, PeerProcConfig } from './peer-proc.js';
import { emptyPeerFigures, tunnelPeerFigures, type PeerFigures, type PeerResults } from './peer-results.js';
import { memoryPhase, poolPhase, type PoolBenchDeps } from './pool-bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const resultsDir = join(root, 'bench', 'results');

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = !argv.includes('--no-profile');
/** `--only paced,cold,direct,unpaced,conns,profile`: run a subset (development; implies no docs). */
const onlyIdx = argv.indexOf('--only');
const ONLY = onlyIdx >= 0 ? new Set((argv[onlyIdx + 1] ?? '').split(',')) : undefined;
const want = (phase: string): boolean => ONLY === undefined || ONLY.has(phase);
/** `--only pool,memory --merge`: fold just these phases' keys into latest.json and re-render the docs. */
const MERGE = argv.includes('--merge');
const peerIdx = argv.indexOf('--peer');
const PEER = peerIdx >= 0 ? resolve(argv[peerIdx + 1] ?? '') : undefined;
/** Plugin phases run beside the tunnel phase of the same pacing, or alone with `--only peer`. */
const wantPeer = (phase: 'paced' | 'unpaced'): boolean =>
  PEER !== undefined && (want(phase) || (ONLY?.has('peer') ?? false));

const MiB = 1024 * 1024;
const C = {
  runs: 3,
  /** Fast (unpaced, loopback) figures get more runs: cheap, and steadier on a shared machine. */
  fastRuns: 5,
  bigBytes: QUICK ? 2 * MiB : 16 * MiB,
  fourBytes: QUICK ? 512 * 1024 : 4 * MiB,
  /** Unpaced warm-up transfer, each way, before the measured runs (the plugin's upload is not). */
  warmBytes: QUICK ? 4 * MiB : 48 * MiB,
  echoes: QUICK ? 200 : 1000,
  echoBytes: 64,
  warmup: 20,
  conns: QUICK ? 200 : 1000,
  connBytes: 4096,
  coldForwards: 10,
  transferTimeoutMs: 180_000,
  /** The plugin phases add about 5 minutes (its uploads are paced at 1 ms per 1024 bytes). */
  watchdogMs: (PEER === undefined ? 9 : 18) * 60_000,
};

interface EmuInfo {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  instanceId: string;
  services: { source: number; sink: number; echo: number };
}
interface MeterReading {
  bytes: number;
  messages: number;
  spanMs: number;
  MBps: number;
}
interface Usage {
  cpu_s: number;
  rss_MB: number;
  rss_peak_MB: number;
  max_rss_MB: number;
}
interface ReadyForward {
  name: string;
  state: string;
  port: number;
  error?: { code: string; message: string };
}

const notes: string[] = [];
const perRun: RunDetails['perRun'] = [];
const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const phaseLoad: number[] = [];
const phaseNames: string[] = [];
/** Remember the 1-minute load average as a phase starts (other work on the machine skews figures). */
function notePhase(name: string): void {
  phaseNames.push(name);
  phaseLoad.push(os.loadavg()[0] ?? 0);
}

function record(label: string, unit: string, values: number[]): void {
  perRun.push({ label, unit, values });
}

async function startEmulator(pacing: 'agent' | 'none'): Promise<{ child: BenchChild; info: EmuInfo }> {
  const child = await BenchChild.start(
    `emulator(${pacing})`,
    join(here, 'emulator-proc.js'),
    [JSON.stringify({ pacing })],
    { timeoutMs: 20_000 },
  );
  return { child, info: child.ready as unknown as EmuInfo };
}

async function startTunnel(
  name: string,
  emu: EmuInfo,
  forwards: TunnelProcConfig['forwards'],
  execArgv: string[] = [],
  sampleRss = false,
): Promise<{ child: BenchChild; ports: Map<string, number> }> {
  const cfg: TunnelProcConfig = {
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: emu.credentials,
    instanceId: emu.instanceId,
    forwards,
    sampleRss,
  };
  const child = await BenchChild.start(name, join(here, 'tunnel-proc.js'), [JSON.stringify(cfg)], {
    execArgv,
    timeoutMs: 30_000,
  });
  const ports = new Map<string, number>();
  const ready = (child.ready['forwards'] ?? []) as ReadyForward[];
  const bad = ready.filter((f) => f.state !== 'ready' || f.port === 0);
  if (bad.length > 0) {
    await child.stop();
    throw new Error(
      `${name}: forwards not ready: ${bad.map((f) => `${f.name}=${f.state}${f.error ? ` (${f.error.code}: ${f.error.message})` : ''}`).join(', ')}`,
    );
  }
  for (const f of ready) ports.set(f.name, f.port);
  return { child, ports };
}

function port(ports: Map<string, number>, name: string): number {
  const p = ports.get(name);
  if (p === undefined) throw new Error(`no local port for forward ${name}`);
  return p;
}

/** Run `fn` RUNS times; all must succeed, else the figure is null and the error noted. */
async function runs<T>(label: string, fn: (i: number) => Promise<T>, n: number = C.runs): Promise<T[] | null> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(await fn(i));
    } catch (e) {
      notes.push(`${label}: run ${i + 1} failed: ${errText(e)}`);
      log(`${label}: run ${i + 1} FAILED: ${errText(e)}`);
      return null;
    }
  }
  return out;
}

async function concurrentDownloads(p: number, n: number, size: number, seedBase: number): Promise<number> {
  const start = process.hrtime.bigint();
  const all = await Promise.all(
    Array.from({ length: n }, (_, k) => download(p, seedBase + k, size, C.transferTimeoutMs)),
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const bytes = all.reduce((a, r) => a + r.bytes, 0);
  return bytes / 1e6 / (ms / 1000);
}

const mbps = (rs: TransferResult[]): number[] => rs.map((r) => r.MBps);

/** The throughput/latency phases against one emulator pacing profile. */
async function throughputPhase(
  pacing: 'agent' | 'none',
  emu: { child: BenchChild; info: EmuInfo },
  r: BenchResults,
): Promise<void> {
  const tag = pacing === 'agent' ? 'paced' : 'unpaced';
  const nRuns = pacing === 'agent' ? C.runs : C.fastRuns;
  const forwards: TunnelProcConfig['forwards'] = [
    { name: 'source', remotePort: emu.info.services.source },
    { name: 'sink', remotePort: emu.info.services.sink },
    { name: 'echo', remotePort: emu.info.services.echo },
  ];
  if (pacing === 'agent') forwards.push({ name: 'source4', remotePort: emu.info.services.source, sessions: 4 });
  const t = await startTunnel(`tunnel(${tag})`, emu.info, forwards);
  try {
    const caps: number[] = [];
    // Warm-up (not measured): JIT, socket buffers and the first mux stream, in both directions.
    // Unpaced, V8 needs a few hundred thousand messages in both processes before the hot path is
    // optimized (the first 16 MiB download measured 30–40% slower than the fifth).
    await download(port(t.ports, 'source'), 99, pacing === 'agent' ? 256 * 1024 : C.warmBytes, C.transferTimeoutMs);
    await upload(port(t.ports, 'sink'), 199, pacing === 'agent' ? 256 * 1024 : C.warmBytes, C.transferTimeoutMs);
    const fills: number[] = [];
    const before = await t.child.request<Usage>('usage');
    const emuBefore = await emu.child.request<{ cpu_s: number }>('usage');
    const down = await runs(
      `${tag} download`,
      async (i) => {
        if (pacing === 'agent') await emu.child.request('meter-reset');
        const res = await download(port(t.ports, 'source'), 100 + i, C.bigBytes, C.transferTimeoutMs);
        if (pacing === 'agent') {
          const m = await emu.child.request<MeterReading>('meter-read');
          caps.push(m.MBps);
          fills.push(m.messages > 0 ? m.bytes / m.messages : 0);
        }
        log(`${tag} download ${i + 1}: ${res.MBps.toFixed(3)} MB/s`);
        return res;
      },
      nRuns,
    );
    const up = await runs(
      `${tag} upload`,
      async (i) => {
        const res = await upload(port(t.ports, 'sink'), 200 + i, C.bigBytes, C.transferTimeoutMs);
        log(`${tag} upload ${i + 1}: ${res.MBps.toFixed(3)} MB/s`);
        return res;
      },
      nRuns,
    );
    const after = await t.child.request<Usage>('usage');
    const emuAfter = await emu.child.request<{ cpu_s: number }>('usage');
    if (down !== null) {
      record(`${tag} download`, 'MB/s', mbps(down));
      r[tag].download_MBps = round(median(mbps(down)), 3);
    }
    if (up !== null) {
      record(`${tag} upload`, 'MB/s', mbps(up));
      r[tag].upload_MBps = round(median(mbps(up)), 3);
    }
    if (pacing === 'agent' && caps.length === nRuns) {
      record('emulator send cap', 'MB/s', caps);
      record('mean Output payload per message, single download (not in JSON)', 'bytes', fills);
      r.paced.emulator_send_cap_MBps = round(median(caps), 3);
    }
    if (pacing === 'none' && down !== null && up !== null) {
      const bytes = [...down, ...up].reduce((a, x) => a + x.bytes, 0);
      const cpu = after.cpu_s - before.cpu_s;
      r.cpu_s_per_GB = round(cpu / (bytes / 1e9), 2);
      const emuCpu = emuAfter.cpu_s - emuBefore.cpu_s;
      record('tunnel CPU per GB, unpaced transfers', 's/GB', [cpu / (bytes / 1e9)]);
      record('emulator process CPU per GB, same transfers (not in JSON)', 's/GB', [emuCpu / (bytes / 1e9)]);
      log(
        `unpaced CPU per GB: tunnel ${(cpu / (bytes / 1e9)).toFixed(1)} s, emulator ${(emuCpu / (bytes / 1e9)).toFixed(1)} s`,
      );
    }

    if (pacing === 'agent') {
      const s1Meter: number[] = [];
      const s1Fill: number[] = [];
      const s1 = await runs('paced 4 conns sessions 1', async (i) => {
        await emu.child.request('meter-reset');
        const v = await concurrentDownloads(port(t.ports, 'source'), 4, C.fourBytes, 300 + 10 * i);
        const m = await emu.child.request<MeterReading>('meter-read');
        s1Meter.push(m.MBps);
        s1Fill.push(m.messages > 0 ? m.bytes / m.messages : 0);
        return v;
      });
      if (s1Meter.length > 0) {
        record('emulator send rate during 4 conns, sessions 1 (not in JSON)', 'MB/s', s1Meter);
        record('mean Output payload per message, 4 conns, sessions 1 (not in JSON)', 'bytes', s1Fill);
      }
      if (s1 !== null) {
        record('paced 4 conns, sessions 1', 'MB/s', s1);
        r.paced.conns4_sessions1_MBps = round(median(s1), 3);
      }
      const s4 = await runs('paced 4 conns sessions 4', (i) =>
        concurrentDownloads(port(t.ports, 'source4'), 4, C.fourBytes, 400 + 10 * i),
      );
      if (s4 !== null) {
        record('paced 4 conns, sessions 4', 'MB/s', s4);
        r.paced.conns4_sessions4_MBps = round(median(s4), 3);
      }
      log(
        `paced 4 conns: sessions1 ${s1?.map((x) => x.toFixed(3)).join(',')} sessions4 ${s4?.map((x) => x.toFixed(3)).join(',')}`,
      );
    }

    const rtt = await runs(
      `${tag} rtt`,
      () => echoRoundTrips(port(t.ports, 'echo'), C.echoes, C.echoBytes, C.warmup, 60_000),
      nRuns,
    );
    if (rtt !== null) {
      const p50 = rtt.map((x) => percentile(x, 50));
      const p95 = rtt.map((x) => percentile(x, 95));
      record(`${tag} rtt p50`, 'ms', p50);
      record(`${tag} rtt p95`, 'ms', p95);
      r[tag].rtt_p50_ms = round(median(p50), 3);
      r[tag].rtt_p95_ms = round(median(p95), 3);
      log(`${tag} rtt p50 ${p50.map((x) => x.toFixed(3)).join(',')} p95 ${p95.map((x) => x.toFixed(3)).join(',')}`);
    }
  } finally {
    await t.child.stop();
  }
}

/** Plugin pids reported by peer-proc: killed if the driver exits before peer-proc can stop them. */
const pluginPids = new Set<number>();
process.on('exit', () => {
  for (const pid of pluginPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** The plugin paces uploads near 0.75 MB/s: 16 MiB takes about 22 s; more than 60 s is a failure. */
const PEER_UPLOAD_TIMEOUT_MS = QUICK ? 20_000 : 60_000;
/**
 * Unpaced plugin downloads: 16 MiB at the paced rate would take 20 s, so 60 s bounds a stalled
 * session (seen with pacing 'none': the plugin stops acknowledging, see bench/analysis.md).
 */
const PEER_DOWNLOAD_TIMEOUT_MS = 60_000;

/** The official plugin (one process per forward, bench/peer-proc.ts) against the same emulator. */
async function startPeer(
  emu: EmuInfo,
  forwards: PeerProcConfig['forwards'],
  plugin: string,
): Promise<{ child: BenchChild; ports: Map<string, number>; version: string }> {
  const cfg: PeerProcConfig = {
    plugin,
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: emu.credentials,
    instanceId: emu.instanceId,
    forwards,
  };
  const child = await BenchChild.start('plugin', join(here, 'peer-proc.js'), [JSON.stringify(cfg)], {
    timeoutMs: 90_000,
  });
  const ready = (child.ready['forwards'] ?? []) as PeerForward[];
  for (const f of ready) if (f.pid > 0) pluginPids.add(f.pid);
  const bad = ready.filter((f) => f.state !== 'ready' || f.port === 0);
  if (bad.length > 0) {
    await child.stop(10_000);
    throw new Error(
      `plugin forwards not ready: ${bad.map((f) => `${f.name}${f.error ? ` (${f.error.message})` : ''}`).join(', ')}`,
    );
  }
  return {
    child,
    ports: new Map(ready.map((f) => [f.name, f.port])),
    version: String(child.ready['version'] ?? 'unknown'),
  };
}

/** The same workloads as throughputPhase, through the plugin; C.runs runs each, sessions 1 only. */
async function peerPhase(
  pacing: 'agent' | 'none',
  emu: { child: BenchChild; info: EmuInfo },
  plugin: string,
  pf: PeerFigures,
): Promise<string> {
  const tag = pacing === 'agent' ? 'paced' : 'unpaced';
  const L = `plugin ${tag}`;
  const s = emu.info.services;
  const p = await startPeer(
    emu.info,
    [
      { name: 'source', remotePort: s.source },
      { name: 'sink', remotePort: s.sink },
      { name: 'echo', remotePort: s.echo },
    ],
    plugin,
  );
  try {
    // Warm-up as for the tunnel; the upload one is small because the plugin paces uploads.
    await download(
      port(p.ports, 'source'),
      99,
      pacing === 'agent' ? 256 * 1024 : C.warmBytes,
      PEER_DOWNLOAD_TIMEOUT_MS,
    );
    // A failed warm-up upload skips the measured uploads (each would only wait out its timeout)
    // but not the downloads and round trips.
    const upOk = await upload(port(p.ports, 'sink'), 199, 256 * 1024, PEER_UPLOAD_TIMEOUT_MS).then(
      () => true,
      (e: unknown) => {
        notes.push(`${L} upload: warm-up upload failed, uploads not measured: ${errText(e)}`);
        log(`${L} warm-up upload FAILED: ${errText(e)}`);
        return false;
      },
    );
    const caps: number[] = [];
    const before = await p.child.request<{ cpu_s: number }>('usage');
    const down = await runs(`${L} download`, async (i) => {
      if (pacing === 'agent') await emu.child.request('meter-reset');
      const res = await download(
        port(p.ports, 'source'),
        100 + i,
        C.bigBytes,
        pacing === 'agent' ? C.transferTimeoutMs : PEER_DOWNLOAD_TIMEOUT_MS,
      );
      if (pacing === 'agent') caps.push((await emu.child.request<MeterReading>('meter-read')).MBps);
      log(`${L} download ${i + 1}: ${res.MBps.toFixed(3)} MB/s`);
      return res;
    });
    const up = !upOk
      ? null
      : await runs(`${L} upload`, async (i) => {
          const res = await upload(port(p.ports, 'sink'), 200 + i, C.bigBytes, PEER_UPLOAD_TIMEOUT_MS);
          log(`${L} upload ${i + 1}: ${res.MBps.toFixed(3)} MB/s`);
          return res;
        });
    const after = await p.child.request<{ cpu_s: number; max_rss_MB: number }>('usage');
    if (down !== null) {
      record(`${L} download`, 'MB/s', mbps(down));
      pf[tag].download_MBps = round(median(mbps(down)), 3);
    }
    if (up !== null) {
      record(`${L} upload`, 'MB/s', mbps(up));
      pf[tag].upload_MBps = round(median(mbps(up)), 3);
    }
    if (pacing === 'agent' && caps.length === C.runs) {
      record(`emulator send cap during ${L} downloads`, 'MB/s', caps);
      pf.paced.emulator_send_cap_MBps = round(median(caps), 3);
    }
    if (pacing === 'none' && down !== null && up !== null) {
      const gb = [...down, ...up].reduce((a, x) => a + x.bytes, 0) / 1e9;
      pf.cpu_s_per_GB = round((after.cpu_s - before.cpu_s) / gb, 2);
      record(`${L} CPU per GB (plugin processes, /proc)`, 's/GB', [(after.cpu_s - before.cpu_s) / gb]);
    }
    if (pacing === 'agent') {
      const s1 = await runs(`${L} 4 conns sessions 1`, (i) =>
        concurrentDownloads(port(p.ports, 'source'), 4, C.fourBytes, 300 + 10 * i),
      );
      if (s1 !== null) {
        record(`${L} 4 conns, sessions 1`, 'MB/s', s1);
        pf.paced.conns4_sessions1_MBps = round(median(s1), 3);
      }
      log(`${L} 4 conns: ${s1?.map((x) => x.toFixed(3)).join(',')}`);
    }
    const rtt = await runs(`${L} rtt`, () =>
      echoRoundTrips(port(p.ports, 'echo'), C.echoes, C.echoBytes, C.warmup, 60_000),
    );
    if (rtt !== null) {
      const p50 = rtt.map((x) => percentile(x, 50));
      const p95 = rtt.map((x) => percentile(x, 95));
      record(`${L} rtt p50`, 'ms', p50);
      record(`${L} rtt p95`, 'ms', p95);
      pf[tag].rtt_p50_ms = round(median(p50), 3);
      pf[tag].rtt_p95_ms = round(median(p95), 3);
      log(`${L} rtt p50 ${p50.map((x) => x.toFixed(3)).join(',')} p95 ${p95.map((x) => x.toFixed(3)).join(',')}`);
    }
  } finally {
    await p.child.stop(10_000);
  }
  return p.version;
}

async function directPhase(emu: EmuInfo, r: BenchResults): Promise<void> {
  const down = await runs(
    'direct TCP download',
    (i) => download(emu.services.source, 500 + i, C.bigBytes, 60_000),
    C.fastRuns,
  );
  const up = await runs('direct TCP upload', (i) => upload(emu.services.sink, 600 + i, C.bigBytes, 60_000), C.fastRuns);
  if (down !== null) {
    record('direct TCP download', 'MB/s', mbps(down));
    r.unpaced.direct_tcp_MBps = round(median(mbps(down)), 1);
  }
  if (up !== null) record('direct TCP upload (not in JSON)', 'MB/s', mbps(up));
  log(
    `direct TCP: down ${down?.map((x) => x.MBps.toFixed(0)).join(',')} up ${up?.map((x) => x.MBps.toFixed(0)).join(',')}`,
  );
}

async function coldStartPhase(emu: EmuInfo, r: BenchResults): Promise<void> {
  const inProc: number[] = [];
  const res = await runs('cold start', async (i) => {
    const fwds = Array.from({ length: C.coldForwards }, (_, k) => ({ name: `f${k}`, remotePort: emu.services.echo }));
    const t = await startTunnel(`tunnel(cold ${i + 1})`, emu, fwds);
    await t.child.stop();
    inProc.push(Number(t.child.ready['startMs']) / 1000);
    return t.child.readyMs / 1000;
  });
  if (res !== null) {
    record('cold start, fork to all ready', 's', res);
    record('cold start, manager.start() only (not in JSON)', 's', inProc);
    r.cold_start_10_forwards_s = round(median(res), 3);
    log(
      `cold start ${res.map((x) => x.toFixed(3)).join(',')} (in-process ${inProc.map((x) => x.toFixed(3)).join(',')})`,
    );
  }
}

async function connsPhase(emu: EmuInfo, r: BenchResults): Promise<void> {
  const peaks: number[] = [];
  const idle: number[] = [];
  const res = await runs(`${C.conns} connections`, async (i) => {
    const t = await startTunnel(
      `tunnel(conns ${i + 1})`,
      emu,
      [{ name: 'echo', remotePort: emu.services.echo }],
      [],
      true,
    );
    try {
      idle.push((await t.child.request<Usage>('usage')).rss_MB);
      const m = await manyEchoConnections(port(t.ports, 'echo'), C.conns, C.connBytes, 120_000);
      const u = await t.child.request<Usage>('usage');
      peaks.push(Math.max(u.rss_peak_MB, u.max_rss_MB));
      log(
        `${C.conns} conns run ${i + 1}: verified ${m.verified}, failed ${m.failed}, ${m.ms.toFixed(0)} ms, peak RSS ${Math.max(u.rss_peak_MB, u.max_rss_MB).toFixed(1)} MB${m.firstError ? `, first error: ${m.firstError}` : ''}`,
      );
      if (m.firstError !== undefined)
        notes.push(`${C.conns} connections, run ${i + 1}: ${m.failed} failed; first error: ${m.firstError}`);
      return m.verified;
    } finally {
      await t.child.stop();
    }
  });
  if (res !== null) {
    record(`${C.conns} connections verified`, 'count', res);
    record(`tunnel peak RSS with ${C.conns} connections`, 'MB', peaks);
    record('tunnel RSS after start, before the connections (not in JSON)', 'MB', idle);
    // The stricter reading for a count: the worst run, not the median.
    r.conns1000.verified = Math.min(...res);
    r.conns1000.peak_rss_MB = round(median(peaks), 1);
  }
}

function newestProfile(dir: string, since: number): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files[0];
}

async function profilePhase(emu: EmuInfo, details: RunDetails): Promise<void> {
  // Keep only this run's profile (they are git-ignored, ~1 MB each).
  for (const f of readdirSync(resultsDir)) if (f.endsWith('.cpuprofile')) rmSync(join(resultsDir, f), { force: true });
  const since = Date.now();
  const t = await startTunnel(
    'tunnel(profile)',
    emu,
    [
      { name: 'source', remotePort: emu.services.source },
      { name: 'sink', remotePort: emu.services.sink },
    ],
    ['--cpu-prof', '--cpu-prof-dir', resultsDir],
  );
  try {
    await download(port(t.ports, 'source'), 900, C.bigBytes, C.transferTimeoutMs);
    await upload(port(t.ports, 'sink'), 901, C.bigBytes, C.transferTimeoutMs);
  } finally {
    await t.child.stop(10_000);
  }
  const file = newestProfile(resultsDir, since - 1000);
  if (file === undefined) {
    notes.push('profile: the tunnel process wrote no .cpuprofile');
    return;
  }
  details.profile = {
    ...summarizeProfile(file),
    file: relative(root, file),
    workload: `one unpaced ${C.bigBytes / MiB} MiB download and one ${C.bigBytes / MiB} MiB upload (process lifetime, start-up included)`,
  };
}

function poolDeps(emu: EmuInfo): PoolBenchDeps {
  return {
    root,
    services: emu.services,
    startTunnel: (name, forwards, sampleRss = false) => startTunnel(name, emu, forwards, [], sampleRss),
    record,
    note: (text) => void notes.push(text),
    log,
  };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src', 'bin'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes in src/ or bin/` : head;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const watchdog = setTimeout(() => {
    log('watchdog: the run exceeded its time budget; killing everything');
    process.exit(2);
  }, C.watchdogMs);
  watchdog.unref();
  mkdirSync(resultsDir, { recursive: true });
  const r = emptyResults();
  const details: RunDetails = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: gitCommit(),
    durationS: 0,
    runs: C.runs,
    perRun,
    notes,
    loadStart: os.loadavg()[0] ?? 0,
    loadEnd: 0,
  };
  const pf = emptyPeerFigures();
  let pluginVersion = 'unknown';
  const peerNote = (e: unknown): void => void notes.push(`plugin phase: ${errText(e)}`);

  log(`paced phases (emulator pacing 'agent')${QUICK ? ' [quick]' : ''}`);
  if (want('paced') || want('cold') || wantPeer('paced') || want('pool')) {
    const paced = await startEmulator('agent');
    try {
      if (want('pool')) notePhase('pool');
      if (want('pool'))
        await poolPhase(poolDeps(paced.info), r).catch((e: unknown) => void notes.push(`pool phase: ${errText(e)}`));
      if (want('paced')) notePhase('paced');
      if (want('paced'))
        await throughputPhase('agent', paced, r).catch((e: unknown) => void notes.push(`paced phase: ${errText(e)}`));
      if (want('cold')) notePhase('cold start');
      if (want('cold'))
        await coldStartPhase(paced.info, r).catch((e: unknown) => void notes.push(`cold start: ${errText(e)}`));
      if (PEER !== undefined && wantPeer('paced')) notePhase('plugin paced');
      if (PEER !== undefined && wantPeer('paced'))
        pluginVersion = await peerPhase('agent', paced, PEER, pf).catch((e: unknown) => {
          peerNote(e);
          return pluginVersion;
        });
    } finally {
      await paced.child.stop();
    }
  }

  log("unpaced phases (emulator pacing 'none')");
  if (
    want('direct') ||
    want('unpaced') ||
    want('conns') ||
    want('memory') ||
    (PROFILE && want('profile')) ||
    wantPeer('unpaced')
  ) {
    const fast = await startEmulator('none');
    try {
      if (want('memory')) notePhase('memory');
      if (want('memory'))
        await memoryPhase(poolDeps(fast.info), r).catch((e: unknown) => void notes.push(`memory phase: ${errText(e)}`));
      if (want('direct')) notePhase('direct');
      if (want('direct'))
        await directPhase(fast.info, r).catch((e: unknown) => void notes.push(`direct TCP: ${errText(e)}`));
      if (want('unpaced')) notePhase('unpaced');
      if (want('unpaced'))
        await throughputPhase('none', fast, r).catch((e: unknown) => void notes.push(`unpaced phase: ${errText(e)}`));
      if (PEER !== undefined && wantPeer('unpaced')) notePhase('plugin unpaced');
      if (PEER !== undefined && wantPeer('unpaced'))
        pluginVersion = await peerPhase('none', fast, PEER, pf).catch((e: unknown) => {
          peerNote(e);
          return pluginVersion;
        });
      if (want('conns')) notePhase('1000 conns');
      if (want('conns'))
        await connsPhase(fast.info, r).catch((e: unknown) => void notes.push(`1000 connections: ${errText(e)}`));
      if (PROFILE && want('profile')) notePhase('profile');
      if (PROFILE && want('profile'))
        await profilePhase(fast.info, details).catch((e: unknown) => void notes.push(`profile: ${errText(e)}`));
    } finally {
      await fast.child.stop();
    }
  }

  details.durationS = (Date.now() - t0) / 1000;
  details.loadEnd = os.loadavg()[0] ?? 0;
  if (phaseLoad.length > 0)
    record(`1-minute load average as each phase started (${phaseNames.join(', ')})`, 'load', phaseLoad);
  for (const n of notes) log(`note: ${n}`);
  const json = resultsJson(r);
  process.stdout.write(json);
  for (const g of evaluateGoals(r))
    log(`goal ${g.met === null ? 'n/a ' : g.met ? 'MET ' : 'MISS'} ${g.label}: ${g.value ?? 'null'} (${g.target})`);
  if (details.profile !== undefined) {
    log(
      `profile ${details.profile.file}: busy ${details.profile.totalMs.toFixed(0)} ms, gc ${details.profile.gcMs.toFixed(0)} ms`,
    );
    for (const e of details.profile.top)
      log(
        `  ${e.selfMs.toFixed(1).padStart(8)} ms ${e.percent.toFixed(1).padStart(5)} %  ${e.functionName}  ${e.location}`,
      );
    for (const f of details.profile.byFile)
      log(`  ${f.selfMs.toFixed(1).padStart(8)} ms ${f.percent.toFixed(1).padStart(5)} %  ${f.location}`);
  }
  if (PEER !== undefined) {
    const peer: PeerResults = {
      date: details.date,
      commit: details.commit,
      plugin: { path: PEER, version: pluginVersion },
      runs: { tunnel_paced: C.runs, tunnel_unpaced: C.fastRuns, plugin: C.runs },
      tunnel: tunnelPeerFigures(r),
      official_plugin: pf,
      notes: [...notes],
    };
    r.vs_peer = {
      unpaced_download_ratio: peerRatio(r.unpaced.download_MBps, pf.unpaced.download_MBps),
      unpaced_upload_ratio: peerRatio(r.unpaced.upload_MBps, pf.unpaced.upload_MBps),
      cpu_ratio: peerRatio(r.cpu_s_per_GB, pf.cpu_s_per_GB),
      date: details.date,
      commit: details.commit,
    };
    log(`vs the official plugin: ${JSON.stringify(r.vs_peer)}`);
    const peerFile = QUICK ? 'peer-quick.json' : 'peer.json';
    writeFileSync(join(resultsDir, peerFile), `${JSON.stringify(peer, null, 2)}\n`);
    log(`wrote bench/results/${peerFile}: ${JSON.stringify(pf)}`);
  }
  if (ONLY !== undefined && MERGE) {
    mergeIntoLatest(r, details);
    return;
  }
  if (ONLY !== undefined) {
    writeFileSync(join(resultsDir, 'partial.json'), json);
    log(`partial run: wrote bench/results/partial.json only (${details.durationS.toFixed(0)} s)`);
    return;
  }
  if (QUICK) {
    writeFileSync(join(resultsDir, 'quick.json'), json);
    log(`quick run: wrote bench/results/quick.json only (${details.durationS.toFixed(0)} s)`);
    return;
  }
  writeFileSync(join(resultsDir, 'latest.json'), json);
  writeFileSync(join(resultsDir, 'latest-details.json'), `${JSON.stringify(details, null, 2)}\n`);
  writeDocs(r, details);
  log(
    `wrote bench/results/latest.json (+ latest-details.json), docs/benchmarks.md, docs/benchmarks.svg (${details.durationS.toFixed(0)} s)`,
  );
}

function writeDocs(r: BenchResults, details: RunDetails): void {
  const mdPath = join(root, 'docs', 'benchmarks.md');
  const carried = readCarriedText(join(root, 'bench', 'analysis.md'), mdPath);
  const peerPath = join(resultsDir, 'peer.json');
  const peer = existsSync(peerPath) ? (JSON.parse(readFileSync(peerPath, 'utf8')) as PeerResults) : undefined;
  writeFileSync(mdPath, renderMarkdown(r, details, { ...carried, peer }));
  writeFileSync(join(root, 'docs', 'benchmarks.svg'), renderSvg(r, peer));
}

/**
 * `--only PHASES --merge`: the last full run stays as it is; only the keys of those phases
 * (`pool`, `memory`; `unpaced` with `cpu_s_per_GB`; `vs_peer` after a `--peer` run; the profile) and their
 * per-run rows, notes and load averages are replaced, then the docs re-rendered.
 */
function mergeIntoLatest(r: BenchResults, details: RunDetails): void {
  const latest = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8')) as BenchResults;
  const old = JSON.parse(readFileSync(join(resultsDir, 'latest-details.json'), 'utf8')) as RunDetails;
  if (ONLY?.has('pool') === true) latest.pool = r.pool;
  if (ONLY?.has('memory') === true) latest.memory = r.memory;
  if (ONLY?.has('paced') === true) latest.paced = r.paced;
  if (ONLY?.has('unpaced') === true) {
    latest.unpaced = r.unpaced;
    latest.cpu_s_per_GB = r.cpu_s_per_GB;
  }
  if (r.vs_peer !== undefined) latest.vs_peer = r.vs_peer;
  // The profile section of the docs comes from the details: a fresh profile replaces the old one.
  if (ONLY?.has('profile') === true && details.profile !== undefined) old.profile = details.profile;
  if (latest.pool === undefined) latest.pool = emptyResults().pool;
  if (latest.memory === undefined) latest.memory = emptyResults().memory;
  const tag = `${[...(ONLY ?? [])].join('+')} phases, ${details.date}, commit ${details.commit}`;
  old.perRun.push(...details.perRun.map((p) => ({ ...p, label: `${p.label} [${tag}]` })));
  old.notes.push(
    `${tag}: measured separately (${details.durationS.toFixed(0)} s, 1-minute load ${details.loadStart.toFixed(2)} → ${details.loadEnd.toFixed(2)}); the other figures are from the run above.`,
    ...details.notes,
  );
  writeFileSync(join(resultsDir, 'latest.json'), resultsJson(latest));
  writeFileSync(join(resultsDir, 'latest-details.json'), `${JSON.stringify(old, null, 2)}\n`);
  // The "Machine" section describes the full run the other figures come from: keep it.
  const mdPath = join(root, 'docs', 'benchmarks.md');
  const machine = (md: string): string | undefined => /\n## Machine\n[\s\S]*?(?=\n## )/.exec(md)?.[0];
  const before = machine(readFileSync(mdPath, 'utf8'));
  writeDocs(latest, old);
  const now = readFileSync(mdPath, 'utf8');
  const after = machine(now);
  if (before !== undefined && after !== undefined) writeFileSync(mdPath, now.replace(after, before));
  log(`merged ${tag} into bench/results/latest.json; docs re-rendered`);
}

/** `--report-only`: re-render the docs from the last full run (after editing bench/analysis.md). */
function reportOnly(): void {
  const r = JSON.parse(readFileSync(join(resultsDir, 'latest.json'), 'utf8')) as BenchResults;
  const details = JSON.parse(readFileSync(join(resultsDir, 'latest-details.json'), 'utf8')) as RunDetails;
  writeDocs(r, details);
  log('re-rendered docs/benchmarks.md and docs/benchmarks.svg from bench/results/latest*.json');
}

(argv.includes('--report-only') ? Promise.resolve().then(reportOnly) : main()).then(
  () => process.exit(0),
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
