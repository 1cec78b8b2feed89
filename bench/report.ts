/**
 * Writes the human side of a benchmark run: `docs/benchmarks.md` (table, goals, machine, chart
 * link, per-run figures, CPU-profile ranking plus the hand-written analysis in
 * `bench/analysis.md`) and `docs/benchmarks.svg` (a hand-written horizontal bar chart, log
 * scale, no packages). The "## smux micro-benchmark" section belongs to another benchmark and is
 * carried over verbatim from the existing file.
 */
import os from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import type { BenchResults, Figure } from './results.js';
import { evaluateGoals, peerRatio } from './results.js';
import type { ProfileSummary } from './profile.js';
import type { PeerFigures, PeerResults } from './peer-results.js';

export interface RunDetails {
  date: string;
  commit: string;
  durationS: number;
  runs: number;
  /** Every run's value for each figure, in run order. */
  perRun: Array<{ label: string; unit: string; values: number[] }>;
  /** Failures and caveats met during the run. */
  notes: string[];
  /** 1-minute load average when the run started and when it ended (other work on the machine). */
  loadStart: number;
  loadEnd: number;
  profile?: ProfileSummary & { file: string; workload: string };
}

/** Reference figures for the official client through the real agent 3.3.1142.0 (issue #7). */
export const OFFICIAL = {
  download_MBps: 0.72,
  upload_MBps: 0.73,
  rtt_p50_ms: 1.85,
  rtt_p95_ms: 2.12,
  conns4_MBps: 0.73,
};

const SMUX_HEADING = '## smux micro-benchmark';

/** The smux section of an existing benchmarks.md (heading to the next `## ` or EOF), if any. */
export function extractSmuxSection(markdown: string): string | undefined {
  const start = markdown.indexOf(SMUX_HEADING);
  if (start < 0) return undefined;
  const rest = markdown.slice(start + SMUX_HEADING.length);
  const next = rest.search(/\n## /);
  return (next < 0 ? markdown.slice(start) : markdown.slice(start, start + SMUX_HEADING.length + next)).trimEnd();
}

function fmt(v: Figure, digits = 2): string {
  if (v === null) return 'not measured';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(digits);
}

/** A value with its unit, or 'not measured' alone. */
function fu(v: Figure, digits: number, unit: string): string {
  return v === null ? 'not measured' : `${fmt(v, digits)} ${unit}`;
}

/** "a / b unit" for a p50/p95 pair. */
function pair(a: Figure, b: Figure, unit: string): string {
  return a === null && b === null ? 'not measured' : `${fmt(a, 3)} / ${fmt(b, 3)} ${unit}`;
}

function machineFacts(): string[] {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    `- Node.js: ${process.version}`,
  ];
}

/** "tunnel / plugin" as a factor, when both were measured. */
/** `peerRatio` as a table cell. */
function ratio(a: Figure, b: Figure): string {
  const k = peerRatio(a, b);
  if (k === null) return '—';
  return `${k >= 10 ? k.toFixed(0) : k.toFixed(2)} ×`;
}

/** The `--peer` section: tunnel and the official plugin through the same emulator, same run. */
export function renderPeerSection(p: PeerResults): string[] {
  const L: string[] = [];
  const t = p.tunnel;
  const o = p.official_plugin;
  L.push('## Side by side: tunnel vs the official plugin (same emulator, same run)', '');
  L.push(
    `\`npm run bench -- --peer PATH\` on ${p.date}, commit ${p.commit.replace(/^(\w+)/, '`$1`')}, official \`session-manager-plugin\``,
  );
  L.push(`${p.plugin.version} built locally. Both clients ran the same workloads, with`);
  L.push('the same driver, against the same emulator processes (paced `agent`, then unpaced `none`) in the');
  L.push('same run: the plugin was started the way the AWS CLI starts it (StartSession through the AWS SDK,');
  L.push('then the plugin with the response, region, `StartSession`, profile, request and endpoint), one');
  L.push('plugin process per forward; the plugin has no session pool, so the 4-connection case is one');
  L.push('session for both. Every transfer sha256-verified. Medians of');
  L.push(
    `${p.runs.plugin} runs for the plugin; ${p.runs.tunnel_paced} paced / ${p.runs.tunnel_unpaced} unpaced for \`tunnel\`. The tunnel figures here`,
  );
  L.push('come from this `--peer` run and can differ from the table above (a separate run).', '');
  L.push(`| figure | tunnel | official plugin ${p.plugin.version} | tunnel ÷ plugin |`, '| --- | ---: | ---: | ---: |');
  // One plain factor for every row: above 1 is better for MB/s, below 1 is better for ms and s/GB.
  const row = (label: string, pick: (f: PeerFigures) => Figure, digits: number, unit: string): void => {
    const a = pick(t);
    const b = pick(o);
    L.push(`| ${label} | ${fu(a, digits, unit)} | ${fu(b, digits, unit)} | ${ratio(a, b)} |`);
  };
  row('paced download', (f) => f.paced.download_MBps, 3, 'MB/s');
  row('emulator send cap during those downloads', (f) => f.paced.emulator_send_cap_MBps, 3, 'MB/s');
  row('paced upload', (f) => f.paced.upload_MBps, 3, 'MB/s');
  row('paced 4 × 4 MiB downloads, one session', (f) => f.paced.conns4_sessions1_MBps, 3, 'MB/s');
  row('paced 64-byte round trip p50', (f) => f.paced.rtt_p50_ms, 3, 'ms');
  row('paced 64-byte round trip p95', (f) => f.paced.rtt_p95_ms, 3, 'ms');
  row('unpaced download', (f) => f.unpaced.download_MBps, 2, 'MB/s');
  row('unpaced upload', (f) => f.unpaced.upload_MBps, 3, 'MB/s');
  row('unpaced 64-byte round trip p50', (f) => f.unpaced.rtt_p50_ms, 3, 'ms');
  row('unpaced 64-byte round trip p95', (f) => f.unpaced.rtt_p95_ms, 3, 'ms');
  row('client CPU per GB moved (unpaced)', (f) => f.cpu_s_per_GB, 2, 's/GB');
  L.push('');
  L.push('- The plugin paces its own uploads (about 1 ms per 1024-byte message), so its upload stays below');
  L.push('  1 MB/s however fast the other side reads; `tunnel` does not pace its input.');
  L.push('- A figure "not measured" failed in that run; the notes below say how, and the analysis further');
  L.push('  down says why.');
  L.push('- tunnel ÷ plugin: above 1 is better for `tunnel` in MB/s rows, below 1 in ms and s/GB rows.');
  L.push("- The plugin's CPU is read from `/proc` for its processes (all three forwards); `tunnel`'s is its");
  L.push("  own process's `process.cpuUsage()`; both over the unpaced single-connection transfers only.");
  L.push('');
  L.push('Raw figures: [`bench/results/peer.json`](../bench/results/peer.json).', '');
  if (p.notes.length > 0) {
    L.push('Notes from that run:', '');
    for (const n of p.notes) L.push(`- ${n}`);
    L.push('');
  }
  return L;
}

export function renderMarkdown(
  r: BenchResults,
  d: RunDetails,
  opts: { analysis?: string; smux?: string; peer?: PeerResults | undefined },
): string {
  const L: string[] = [];
  L.push('# Benchmarks', '');
  L.push('Generated by `npm run bench` (`bench/run.ts`); do not edit by hand except the smux section, which');
  L.push('has its own generator. Hand-written analysis lives in `bench/analysis.md` and is copied in.', '');
  L.push('## Method', '');
  L.push('- Three processes: the emulator (SSM API, gateway, agent, plus the source/sink/echo destinations) in');
  L.push('  one child process, `tunnel` (a `TunnelManager` from the public API) in another, and the driver that');
  L.push('  generates load on 127.0.0.1 in the parent. The tunnel process measures its own CPU time and peak RSS.');
  L.push("- Every transfer is sha256-verified (downloads against the seeded stream, uploads by the sink's");
  L.push('  answer, echoes byte for byte); a mismatch fails the run rather than producing a number.');
  L.push(`- Each figure is the median of ${d.runs} runs (5 for the unpaced transfers, round trips and direct`);
  L.push('  TCP, which take a second each). MB = 10^6 bytes. A warm-up transfer each way precedes the');
  L.push('  measured ones. Single-connection transfers are');
  L.push('  16 MiB each way; 4 concurrent 4 MiB downloads; 1,000 echoes of 64 bytes (after 20 warm-up');
  L.push('  echoes); 1,000 concurrent connections each echoing 4 KiB; 10 eager forwards from `fork()` of the');
  L.push('  tunnel process to all ready (Node start-up and module loading included).');
  L.push("- `paced` runs against the emulator's default `agent` pacing (1024-byte Output messages, then at");
  L.push("  least 1 ms); `emulator_send_cap_MBps` is the emulator's own Output send rate measured inside its");
  L.push('  process during the same downloads. `unpaced` uses pacing `none`; `direct_tcp_MBps` is the same');
  L.push('  16 MiB download straight from the source service with no tunnel.');
  L.push("- `cpu_s_per_GB` is the tunnel process's user+system CPU seconds over the unpaced single-connection");
  L.push('  transfers, divided by the GB (10^9 bytes) they moved. The 1,000-connection test and the cold start');
  L.push('  run against the unpaced and the paced emulator respectively, each with a fresh tunnel process.', '');

  L.push(`## Results (${d.date}, commit ${d.commit.replace(/^(\w+)/, '`$1`')}, ${d.durationS.toFixed(0)} s)`, '');
  L.push('| figure | tunnel | official client (issue #7) |', '| --- | ---: | ---: |');
  L.push(`| paced download | ${fu(r.paced.download_MBps, 3, 'MB/s')} | ${OFFICIAL.download_MBps} MB/s |`);
  L.push(`| paced upload | ${fu(r.paced.upload_MBps, 2, 'MB/s')} | ${OFFICIAL.upload_MBps} MB/s |`);
  L.push(`| emulator send cap (same run) | ${fu(r.paced.emulator_send_cap_MBps, 3, 'MB/s')} | — |`);
  L.push(
    `| paced 4 × 4 MiB downloads, sessions: 1 | ${fu(r.paced.conns4_sessions1_MBps, 3, 'MB/s')} | ${OFFICIAL.conns4_MBps} MB/s |`,
  );
  L.push(
    `| paced 4 × 4 MiB downloads, sessions: 4 | ${fu(r.paced.conns4_sessions4_MBps, 3, 'MB/s')} | ${OFFICIAL.conns4_MBps} MB/s |`,
  );
  L.push(
    `| paced 64-byte round trip p50 / p95 | ${pair(r.paced.rtt_p50_ms, r.paced.rtt_p95_ms, 'ms')} | ${OFFICIAL.rtt_p50_ms} / ${OFFICIAL.rtt_p95_ms} ms |`,
  );
  L.push(`| unpaced download | ${fu(r.unpaced.download_MBps, 2, 'MB/s')} | — |`);
  L.push(`| unpaced upload | ${fu(r.unpaced.upload_MBps, 2, 'MB/s')} | — |`);
  L.push(`| unpaced 64-byte round trip p50 / p95 | ${pair(r.unpaced.rtt_p50_ms, r.unpaced.rtt_p95_ms, 'ms')} | — |`);
  L.push(`| direct loopback TCP, no tunnel | ${fu(r.unpaced.direct_tcp_MBps, 2, 'MB/s')} | — |`);
  L.push(`| 1,000 concurrent connections verified | ${fmt(r.conns1000.verified, 0)} | — |`);
  L.push(`| tunnel peak RSS with 1,000 connections | ${fu(r.conns1000.peak_rss_MB, 1, 'MB')} | — |`);
  L.push(`| cold start, 10 eager forwards | ${fu(r.cold_start_10_forwards_s, 3, 's')} | — |`);
  L.push(`| tunnel CPU per GB moved (unpaced) | ${fu(r.cpu_s_per_GB, 2, 's/GB')} | — |`);
  if (r.pool !== undefined) {
    L.push(`| paced 16 × 1 MiB downloads, sessions: auto | ${fu(r.pool.conns16_auto_MBps, 3, 'MB/s')} | — |`);
    L.push(`| paced 16 × 1 MiB downloads, sessions: 1 | ${fu(r.pool.conns16_sessions1_MBps, 3, 'MB/s')} | — |`);
    L.push(`| sessions opened by auto for them | ${fmt(r.pool.sessions_opened, 0)} | — |`);
    L.push(`| paced pgbench -c 16 -j 2 -T 10, sessions: auto | ${fu(r.pool.pgbench16_auto_tps, 1, 'tps')} | — |`);
    L.push(`| paced pgbench -c 16 -j 2 -T 10, sessions: 1 | ${fu(r.pool.pgbench16_sessions1_tps, 1, 'tps')} | — |`);
    L.push(
      `| paced pgbench -c 16 -j 2 -T 10, 100-row ranges, sessions: auto | ${fu(r.pool.pgbench16_range_auto_tps, 1, 'tps')} | — |`,
    );
    L.push(
      `| paced pgbench -c 16 -j 2 -T 10, 100-row ranges, sessions: 1 | ${fu(r.pool.pgbench16_range_sessions1_tps, 1, 'tps')} | — |`,
    );
  }
  if (r.vs_peer !== undefined) {
    const v = r.vs_peer;
    const when = `(\`--peer\` run ${v.date}, commit ${v.commit.replace(/^(\w+)/, '`$1`')})`;
    L.push(`| unpaced download, tunnel ÷ official plugin ${when} | ${fmt(v.unpaced_download_ratio, 2)} × | — |`);
    L.push(`| unpaced upload, tunnel ÷ official plugin ${when} | ${fmt(v.unpaced_upload_ratio, 2)} × | — |`);
    L.push(`| client CPU per GB, tunnel ÷ official plugin ${when} | ${fmt(v.cpu_ratio, 2)} × | — |`);
  }
  if (r.memory !== undefined) {
    L.push(`| tunnel RSS idle (one ready forward) | ${fu(r.memory.idle_rss_MB, 1, 'MB')} | — |`);
    L.push(
      `| tunnel peak RSS, one slow reader (unpaced, read at 2 MB/s) | ${fu(r.memory.slow_reader_peak_rss_MB, 1, 'MB')} | — |`,
    );
  }
  L.push('');
  L.push('Raw figures: [`bench/results/latest.json`](../bench/results/latest.json).', '');
  L.push(
    '![Throughput chart: tunnel vs the official client and the loopback limit, MB/s, log scale](benchmarks.svg)',
    '',
  );
  if (opts.peer !== undefined) L.push(...renderPeerSection(opts.peer));

  L.push('## Goals', '', '| goal | measured | target | met |', '| --- | ---: | ---: | :---: |');
  for (const g of evaluateGoals(r))
    L.push(`| ${g.label} | ${fmt(g.value, 3)} | ${g.target} | ${g.met === null ? 'n/a' : g.met ? 'yes' : '**no**'} |`);
  L.push('');

  L.push('## Machine', '', ...machineFacts());
  L.push(
    `- 1-minute load average: ${d.loadStart.toFixed(2)} at the start of the run, ${d.loadEnd.toFixed(2)} at the end (anything above`,
  );
  L.push('  about 1 means other work competed with the three benchmark processes for the 2 cores).', '');

  L.push('## Every run', '', '| figure | runs | median |', '| --- | --- | ---: |');
  for (const p of d.perRun) {
    const sorted = [...p.values].sort((a, b) => a - b);
    const mid =
      sorted.length === 0
        ? null
        : sorted.length % 2 === 1
          ? (sorted[(sorted.length - 1) / 2] ?? null)
          : ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2;
    L.push(`| ${p.label} (${p.unit}) | ${p.values.map((v) => fmt(v, 3)).join(', ')} | ${fmt(mid, 3)} |`);
  }
  L.push('');
  if (d.notes.length > 0) {
    L.push('Notes from this run:', '');
    for (const n of d.notes) L.push(`- ${n}`);
    L.push('');
  }

  L.push('## Where the time goes (CPU profile, unpaced single connection)', '');
  if (d.profile !== undefined) {
    const p = d.profile;
    L.push(`\`node --cpu-prof\` on the tunnel process during ${p.workload}. Profile: \`${p.file}\` (git-ignored).`);
    L.push(
      `Busy ${p.totalMs.toFixed(0)} ms (of which GC ${p.gcMs.toFixed(0)} ms), idle ${p.idleMs.toFixed(0)} ms.`,
      '',
    );
    L.push('Top functions by self time:', '', '| self ms | % busy | function | where |', '| ---: | ---: | --- | --- |');
    for (const e of p.top)
      L.push(`| ${e.selfMs.toFixed(1)} | ${e.percent.toFixed(1)} | \`${e.functionName}\` | ${e.location} |`);
    L.push('', 'Self time by file:', '', '| self ms | % busy | file |', '| ---: | ---: | --- |');
    for (const f of p.byFile) L.push(`| ${f.selfMs.toFixed(1)} | ${f.percent.toFixed(1)} | ${f.location} |`);
    if (p.inclusive !== undefined && p.inclusive.length > 0) {
      L.push('', "Inclusive time (the function and everything it called) of the project's own functions:", '');
      L.push('| incl. ms | % busy | function | where |', '| ---: | ---: | --- | --- |');
      for (const e of p.inclusive)
        L.push(`| ${e.selfMs.toFixed(1)} | ${e.percent.toFixed(1)} | \`${e.functionName}\` | ${e.location} |`);
    }
    L.push('');
  } else {
    L.push('No profile was taken in this run.', '');
  }
  if (opts.analysis !== undefined && opts.analysis.trim() !== '') L.push(opts.analysis.trim(), '');

  if (opts.smux !== undefined) L.push(opts.smux, '');
  return `${L.join('\n').trimEnd()}\n`;
}

/** Reads `bench/analysis.md` and the smux section of the current `docs/benchmarks.md`. */
export function readCarriedText(analysisPath: string, mdPath: string): { analysis?: string; smux?: string } {
  const out: { analysis?: string; smux?: string } = {};
  if (existsSync(analysisPath)) out.analysis = readFileSync(analysisPath, 'utf8');
  if (existsSync(mdPath)) {
    const s = extractSmuxSection(readFileSync(mdPath, 'utf8'));
    if (s !== undefined) out.smux = s;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SVG chart

interface Bar {
  label: string;
  value: Figure;
  color: string;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Horizontal bars on a log10 axis from 0.1 to the next power of ten above the largest value. */
export function renderSvg(r: BenchResults, peer?: PeerResults): string {
  const TUNNEL = '#2b6cb0';
  const CAP = '#805ad5';
  const OFFICIAL_C = '#a0aec0';
  const DIRECT = '#38a169';
  const PLUGIN = '#dd6b20';
  const pl = peer?.official_plugin;
  /** The plugin's bar (from bench/results/peer.json), only when a --peer run exists. */
  const pb = (label: string, v: Figure | undefined): Bar[] =>
    pl === undefined || v === undefined ? [] : [{ label: `official plugin, ${label}`, value: v, color: PLUGIN }];
  const bars: Bar[] = [
    { label: 'official client, paced download', value: OFFICIAL.download_MBps, color: OFFICIAL_C },
    ...pb('paced download', pl?.paced.download_MBps),
    { label: 'tunnel, paced download', value: r.paced.download_MBps, color: TUNNEL },
    { label: 'emulator send cap (same run)', value: r.paced.emulator_send_cap_MBps, color: CAP },
    { label: 'official client, paced upload', value: OFFICIAL.upload_MBps, color: OFFICIAL_C },
    ...pb('paced upload', pl?.paced.upload_MBps),
    { label: 'tunnel, paced upload', value: r.paced.upload_MBps, color: TUNNEL },
    { label: 'official client, 4 conns', value: OFFICIAL.conns4_MBps, color: OFFICIAL_C },
    ...pb('4 conns', pl?.paced.conns4_sessions1_MBps),
    { label: 'tunnel, 4 conns, sessions: 1', value: r.paced.conns4_sessions1_MBps, color: TUNNEL },
    { label: 'tunnel, 4 conns, sessions: 4', value: r.paced.conns4_sessions4_MBps, color: TUNNEL },
    ...pb('unpaced download', pl?.unpaced.download_MBps),
    { label: 'tunnel, unpaced download', value: r.unpaced.download_MBps, color: TUNNEL },
    ...pb('unpaced upload', pl?.unpaced.upload_MBps),
    { label: 'tunnel, unpaced upload', value: r.unpaced.upload_MBps, color: TUNNEL },
    { label: 'direct loopback TCP (no tunnel)', value: r.unpaced.direct_tcp_MBps, color: DIRECT },
  ];
  const W = 820;
  const labelW = 250;
  const valueW = 90;
  const top = 50;
  const rowH = 26;
  const plotW = W - labelW - valueW - 20;
  const maxV = Math.max(1, ...bars.map((b) => b.value ?? 0));
  const minExp = -1;
  const maxExp = Math.ceil(Math.log10(maxV) + 1e-9);
  const x = (v: number): number =>
    labelW + ((Math.log10(Math.max(v, 10 ** minExp)) - minExp) / (maxExp - minExp)) * plotW;
  // The plugin's legend entry does not fit on one line with the others: a second legend line.
  const legendRows = pl === undefined ? 1 : 2;
  const H = top + bars.length * rowH + 50 + (legendRows - 1) * 18;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Throughput, MB/s (log scale, higher is better)</text>`,
  );
  for (let e = minExp; e <= maxExp; e++) {
    const gx = x(10 ** e).toFixed(1);
    o.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + bars.length * rowH}" stroke="#e2e8f0"/>`);
    o.push(
      `<text x="${gx}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#4a5568">${10 ** e >= 1 ? (10 ** e).toFixed(0) : (10 ** e).toFixed(1)}</text>`,
    );
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    o.push(`<text x="${labelW - 8}" y="${y + rowH / 2 + 4}" text-anchor="end" fill="#1a202c">${esc(b.label)}</text>`);
    if (b.value === null) {
      o.push(`<text x="${labelW + 4}" y="${y + rowH / 2 + 4}" fill="#c53030">not measured</text>`);
      return;
    }
    const w = Math.max(1, x(b.value) - labelW);
    o.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${b.color}"/>`);
    o.push(
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + rowH / 2 + 4}" fill="#1a202c">${b.value >= 100 ? b.value.toFixed(0) : b.value.toFixed(2)}</text>`,
    );
  });
  let ly = top + bars.length * rowH + 36;
  const legend: Array<[string, string]> = [
    [TUNNEL, 'tunnel'],
    [CAP, 'emulator cap'],
    [OFFICIAL_C, 'official client (issue #7, real agent)'],
    ...(pl === undefined ? [] : ([[PLUGIN, 'official plugin (emulator, --peer)']] as Array<[string, string]>)),
    [DIRECT, 'no tunnel'],
  ];
  let lx = labelW;
  for (const [c, t] of legend) {
    if (lx + 16 + t.length * 6.5 > W) {
      lx = labelW;
      ly += 18;
    }
    o.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${c}"/>`);
    o.push(`<text x="${lx + 16}" y="${ly}" fill="#1a202c">${esc(t)}</text>`);
    lx += 24 + t.length * 6.5;
  }
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
