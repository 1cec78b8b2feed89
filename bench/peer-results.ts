/**
 * `bench/results/peer.json` (`npm run bench -- --peer PATH`): the same workloads through `tunnel`
 * and through the official `session-manager-plugin`, against the same emulator processes in the
 * same run. Kept apart from `latest.json`, whose keys are fixed by issue #7. MB = 10^6 bytes; a
 * figure that could not be measured is `null`.
 */
import type { BenchResults, Figure } from './results.js';

export interface PeerFigures {
  paced: {
    download_MBps: Figure;
    upload_MBps: Figure;
    /** The emulator's own Output send rate during this client's paced downloads. */
    emulator_send_cap_MBps: Figure;
    /** 4 concurrent 4 MiB downloads over one session (the plugin has no session pool). */
    conns4_sessions1_MBps: Figure;
    rtt_p50_ms: Figure;
    rtt_p95_ms: Figure;
  };
  unpaced: {
    download_MBps: Figure;
    upload_MBps: Figure;
    rtt_p50_ms: Figure;
    rtt_p95_ms: Figure;
  };
  /** Client process CPU (user+system) over the unpaced single-connection transfers, per GB moved. */
  cpu_s_per_GB: Figure;
}

export interface PeerResults {
  date: string;
  commit: string;
  plugin: { path: string; version: string };
  /** Runs per figure: tunnel uses 3 paced / 5 unpaced, the plugin 3 everywhere (its uploads are slow). */
  runs: { tunnel_paced: number; tunnel_unpaced: number; plugin: number };
  tunnel: PeerFigures;
  official_plugin: PeerFigures;
  notes: string[];
}

export function emptyPeerFigures(): PeerFigures {
  return {
    paced: {
      download_MBps: null,
      upload_MBps: null,
      emulator_send_cap_MBps: null,
      conns4_sessions1_MBps: null,
      rtt_p50_ms: null,
      rtt_p95_ms: null,
    },
    unpaced: { download_MBps: null, upload_MBps: null, rtt_p50_ms: null, rtt_p95_ms: null },
    cpu_s_per_GB: null,
  };
}

/** The tunnel's figures for the side-by-side, taken from the same run's BenchResults. */
export function tunnelPeerFigures(r: BenchResults): PeerFigures {
  return {
    paced: {
      download_MBps: r.paced.download_MBps,
      upload_MBps: r.paced.upload_MBps,
      emulator_send_cap_MBps: r.paced.emulator_send_cap_MBps,
      conns4_sessions1_MBps: r.paced.conns4_sessions1_MBps,
      rtt_p50_ms: r.paced.rtt_p50_ms,
      rtt_p95_ms: r.paced.rtt_p95_ms,
    },
    unpaced: {
      download_MBps: r.unpaced.download_MBps,
      upload_MBps: r.unpaced.upload_MBps,
      rtt_p50_ms: r.unpaced.rtt_p50_ms,
      rtt_p95_ms: r.unpaced.rtt_p95_ms,
    },
    cpu_s_per_GB: r.cpu_s_per_GB,
  };
}
