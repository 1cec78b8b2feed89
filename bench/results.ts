/**
 * The published result shape (`bench/results/latest.json`, exactly the keys of issue #7;
 * MB = 10^6 bytes) and the goals it is judged against. A figure that could not be measured is
 * `null`, never a guess.
 */

export type Figure = number | null;

export interface BenchResults {
  paced: {
    download_MBps: Figure;
    upload_MBps: Figure;
    emulator_send_cap_MBps: Figure;
    conns4_sessions1_MBps: Figure;
    conns4_sessions4_MBps: Figure;
    rtt_p50_ms: Figure;
    rtt_p95_ms: Figure;
  };
  unpaced: {
    download_MBps: Figure;
    upload_MBps: Figure;
    rtt_p50_ms: Figure;
    rtt_p95_ms: Figure;
    direct_tcp_MBps: Figure;
  };
  conns1000: { verified: Figure; peak_rss_MB: Figure };
  cold_start_10_forwards_s: Figure;
  cpu_s_per_GB: Figure;
  /** Issue 13: the adaptive session pool (paced emulator). */
  pool: {
    conns16_auto_MBps: Figure;
    conns16_sessions1_MBps: Figure;
    sessions_opened: Figure;
    pgbench16_auto_tps: Figure;
    pgbench16_sessions1_tps: Figure;
    /** The same run with 100-row range SELECTs (about 11 KB a transaction): what pacing limits. */
    pgbench16_range_auto_tps: Figure;
    pgbench16_range_sessions1_tps: Figure;
  };
  /** Issue 13: the tunnel's memory idle and under one slow reader (unpaced emulator). */
  memory: { idle_rss_MB: Figure; slow_reader_peak_rss_MB: Figure };
  /**
   * Issue 17, only after a `--peer PATH` run: tunnel ÷ the official plugin in that one run
   * (absolute figures vary between machines, ratios within a run do not). Download: above 1 is
   * better; CPU per GB: below 1 is better. `date`/`commit` name the run.
   */
  vs_peer?: {
    unpaced_download_ratio: Figure;
    unpaced_upload_ratio: Figure;
    cpu_ratio: Figure;
    date: string;
    commit: string;
  };
}

export function emptyResults(): BenchResults {
  return {
    paced: {
      download_MBps: null,
      upload_MBps: null,
      emulator_send_cap_MBps: null,
      conns4_sessions1_MBps: null,
      conns4_sessions4_MBps: null,
      rtt_p50_ms: null,
      rtt_p95_ms: null,
    },
    unpaced: { download_MBps: null, upload_MBps: null, rtt_p50_ms: null, rtt_p95_ms: null, direct_tcp_MBps: null },
    conns1000: { verified: null, peak_rss_MB: null },
    cold_start_10_forwards_s: null,
    cpu_s_per_GB: null,
    pool: {
      conns16_auto_MBps: null,
      conns16_sessions1_MBps: null,
      sessions_opened: null,
      pgbench16_auto_tps: null,
      pgbench16_sessions1_tps: null,
      pgbench16_range_auto_tps: null,
      pgbench16_range_sessions1_tps: null,
    },
    memory: { idle_rss_MB: null, slow_reader_peak_rss_MB: null },
  };
}

/** Serialise with the keys in the order (object literal order above). */
export function resultsJson(r: BenchResults): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export interface Goal {
  label: string;
  value: Figure;
  target: string;
  met: boolean | null;
}

const ge = (v: Figure, t: Figure): boolean | null => (v === null || t === null ? null : v >= t);
const le = (v: Figure, t: number): boolean | null => (v === null ? null : v <= t);
const times = (v: Figure, k: number): Figure => (v === null ? null : v * k);

/** The goals of issue #7, evaluated on the JSON. */
export function evaluateGoals(r: BenchResults): Goal[] {
  const cap = r.paced.emulator_send_cap_MBps;
  const s1 = r.paced.conns4_sessions1_MBps;
  return [
    {
      label: 'paced download ≥ 0.95 × emulator cap',
      value: r.paced.download_MBps,
      target: cap === null ? '0.95 × cap' : `≥ ${(0.95 * cap).toFixed(3)} MB/s`,
      met: ge(r.paced.download_MBps, times(cap, 0.95)),
    },
    {
      label: 'paced upload ≥ 10 MB/s',
      value: r.paced.upload_MBps,
      target: '≥ 10 MB/s',
      met: ge(r.paced.upload_MBps, 10),
    },
    {
      label: 'paced 4 conns, sessions 4 ≥ 3.5 × sessions 1',
      value: r.paced.conns4_sessions4_MBps,
      target: s1 === null ? '3.5 × sessions1' : `≥ ${(3.5 * s1).toFixed(3)} MB/s`,
      met: ge(r.paced.conns4_sessions4_MBps, times(s1, 3.5)),
    },
    {
      label: 'paced rtt p50 ≤ 1.5 ms',
      value: r.paced.rtt_p50_ms,
      target: '≤ 1.5 ms',
      met: le(r.paced.rtt_p50_ms, 1.5),
    },
    {
      label: 'unpaced download ≥ 40 MB/s',
      value: r.unpaced.download_MBps,
      target: '≥ 40 MB/s',
      met: ge(r.unpaced.download_MBps, 40),
    },
    {
      label: 'unpaced upload ≥ 40 MB/s',
      value: r.unpaced.upload_MBps,
      target: '≥ 40 MB/s',
      met: ge(r.unpaced.upload_MBps, 40),
    },
    {
      label: 'unpaced rtt p50 ≤ 0.5 ms',
      value: r.unpaced.rtt_p50_ms,
      target: '≤ 0.5 ms',
      met: le(r.unpaced.rtt_p50_ms, 0.5),
    },
    {
      label: '1000 concurrent conns verified',
      value: r.conns1000.verified,
      target: '= 1000',
      met: r.conns1000.verified === null ? null : r.conns1000.verified === 1000,
    },
    {
      label: 'peak RSS with 1000 conns ≤ 150 MB',
      value: r.conns1000.peak_rss_MB,
      target: '≤ 150 MB',
      met: le(r.conns1000.peak_rss_MB, 150),
    },
    {
      label: 'cold start, 10 eager forwards ≤ 1.5 s',
      value: r.cold_start_10_forwards_s,
      target: '≤ 1.5 s',
      met: le(r.cold_start_10_forwards_s, 1.5),
    },
    ...poolGoals(r),
    ...peerGoals(r),
  ];
}

/** Issue 13's goals (absent figures in an older latest.json count as not measured). */
/** Issue 17's goals against the official plugin (one `--peer` run) and upload vs download. */
function peerGoals(r: BenchResults): Goal[] {
  const v = r.vs_peer;
  if (v === undefined) return [];
  return [
    {
      label: 'unpaced download ≥ 2.5 × the official plugin (same run)',
      value: v.unpaced_download_ratio,
      target: '≥ 2.5 ×',
      met: ge(v.unpaced_download_ratio, 2.5),
    },
    {
      label: 'CPU per GB ≤ 0.1 × the official plugin (same run)',
      value: v.cpu_ratio,
      target: '≤ 0.1 ×',
      met: le(v.cpu_ratio, 0.1),
    },
    {
      label: 'unpaced upload ≥ unpaced download',
      value: r.unpaced.upload_MBps,
      target: r.unpaced.download_MBps === null ? '≥ download' : `≥ ${r.unpaced.download_MBps} MB/s`,
      met: ge(r.unpaced.upload_MBps, r.unpaced.download_MBps),
    },
  ];
}

/** tunnel ÷ plugin, two decimals; null when either side was not measured (or the plugin's is 0). */
export function peerRatio(tunnel: Figure, plugin: Figure): Figure {
  return tunnel === null || plugin === null || plugin === 0 ? null : Math.round((tunnel / plugin) * 100) / 100;
}

function poolGoals(r: BenchResults): Goal[] {
  const p = r.pool ?? emptyResults().pool;
  const m = r.memory ?? emptyResults().memory;
  const growth =
    m.slow_reader_peak_rss_MB === null || m.idle_rss_MB === null ? null : m.slow_reader_peak_rss_MB - m.idle_rss_MB;
  return [
    {
      label: 'paced 16 conns, sessions auto ≥ 3.5 × sessions 1',
      value: p.conns16_auto_MBps,
      target:
        p.conns16_sessions1_MBps === null ? '3.5 × sessions1' : `≥ ${(3.5 * p.conns16_sessions1_MBps).toFixed(3)} MB/s`,
      met: ge(p.conns16_auto_MBps, times(p.conns16_sessions1_MBps, 3.5)),
    },
    {
      label: 'pgbench -c 16, sessions auto ≥ 3.5 × sessions 1',
      value: p.pgbench16_auto_tps,
      target:
        p.pgbench16_sessions1_tps === null
          ? '3.5 × sessions1'
          : `≥ ${(3.5 * p.pgbench16_sessions1_tps).toFixed(1)} tps`,
      met: ge(p.pgbench16_auto_tps, times(p.pgbench16_sessions1_tps, 3.5)),
    },
    {
      label: 'pgbench -c 16 100-row ranges, sessions auto ≥ 3.5 × sessions 1',
      value: p.pgbench16_range_auto_tps,
      target:
        p.pgbench16_range_sessions1_tps === null
          ? '3.5 × sessions1'
          : `≥ ${(3.5 * p.pgbench16_range_sessions1_tps).toFixed(1)} tps`,
      met: ge(p.pgbench16_range_auto_tps, times(p.pgbench16_range_sessions1_tps, 3.5)),
    },
    {
      label: 'sessions opened by auto ≤ 4 (its bound)',
      value: p.sessions_opened,
      target: '≤ 4',
      met: le(p.sessions_opened, 4),
    },
    {
      label: 'slow reader: peak RSS − idle RSS ≤ 150 MB',
      value: growth,
      target: '≤ 150 MB',
      met: le(growth, 150),
    },
  ];
}
