/**
 * Benchmark child process 2: `tunnel` itself — a `TunnelManager` from the public API with the
 * forwards under test, against the emulator's endpoint. Nothing else runs here, so its CPU
 * time and memory are the tunnel's own.
 *
 * argv[2]: JSON `TunnelProcConfig`.
 * stdout:  one line `{"type":"ready","startMs","forwards":[{name,port}],"states":{...}}` once
 *          `start()` resolved (every forward ready or failed).
 * IPC:     'usage' → `{ cpu_s, rss_peak_MB, max_rss_MB, rss_MB }`; 'reset-peak' (restart the
 *          sampled peak); 'status' → `manager.status()`; 'stop' → `manager.stop()` then exit (a
 *          clean exit, so `--cpu-prof` writes its profile).
 */
import { TunnelManager } from '../src/index.js';
import type { ForwardSpec } from '../src/index.js';
import { announceReady, serveParent } from './children.js';

export interface TunnelProcConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  instanceId: string;
  forwards: Array<{ name: string; remotePort: number; sessions?: number | 'auto' }>;
  /** Sample RSS every RSS_SAMPLE_MS for the peak (the 1000-connection test). */
  sampleRss?: boolean;
}

/** How often the resident set size is sampled for the peak (ms). */
const RSS_SAMPLE_MS = 10;

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as TunnelProcConfig;
  let peak = process.memoryUsage.rss();
  // Sampling costs CPU (a /proc read each time), so only the memory test turns it on; the
  // kernel's maxRSS covers the peak otherwise.
  const sampler =
    cfg.sampleRss === true
      ? setInterval(() => {
          const r = process.memoryUsage.rss();
          if (r > peak) peak = r;
        }, RSS_SAMPLE_MS)
      : undefined;

  const creds = cfg.credentials;
  const manager = new TunnelManager({
    aws: { region: cfg.region, endpoint: cfg.endpoint, credentials: async () => creds },
  });
  for (const f of cfg.forwards) {
    const spec: ForwardSpec = {
      name: f.name,
      target: { kind: 'id', id: cfg.instanceId },
      remotePort: f.remotePort,
      localPort: 'auto',
      bind: ['127.0.0.1'],
      sessions: f.sessions ?? 1,
    };
    manager.add(spec);
  }
  const t0 = performance.now();
  await manager.start();
  const startMs = performance.now() - t0;

  serveParent(
    {
      usage: () => {
        const u = process.cpuUsage();
        const rss = process.memoryUsage.rss();
        if (rss > peak) peak = rss;
        return {
          cpu_s: (u.user + u.system) / 1e6,
          rss_MB: rss / 1e6,
          rss_peak_MB: peak / 1e6,
          // Kernel's lifetime high-water mark (KiB): catches spikes between samples.
          max_rss_MB: (process.resourceUsage().maxRSS * 1024) / 1e6,
        };
      },
      'reset-peak': () => {
        peak = process.memoryUsage.rss();
      },
      status: () => manager.status(),
    },
    async () => {
      if (sampler !== undefined) clearInterval(sampler);
      await manager.stop();
    },
  );

  const status = manager.status();
  const forwards = status.map((s) => ({
    name: s.name,
    state: s.state,
    port: s.addresses[0]?.port ?? 0,
    error: s.error,
  }));
  announceReady({ startMs, forwards });
}

main().catch((e: unknown) => {
  process.stderr.write(`tunnel-proc: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
