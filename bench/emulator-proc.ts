/**
 * Benchmark child process 1: the emulator (SSM API + gateway + agent) with the pacing under
 * test, plus the source/sink/echo destinations behind the emulated instance's ports.
 *
 * argv[2]: JSON `{ "pacing": "agent" | "none" }`.
 * stdout:  one line `{"type":"ready","endpoint","region","credentials","instanceId","services":{source,sink,echo}}`.
 * IPC:     'meter-reset', 'meter-read' (the emulator's own Output send rate, send-meter.ts),
 *          'usage' (this process's CPU seconds), 'stop'.
 */
import { startEmulator } from '../src/emulator/index.js';
import { SendMeter, installSendMeter } from './send-meter.js';
import { startBenchServices } from './services.js';
import { announceReady, serveParent } from './children.js';

/** The one emulated instance every benchmark forward targets (a valid `i-` id, 17 hex digits). */
export const BENCH_INSTANCE_ID = 'i-0be4c000000000001';

async function main(): Promise<void> {
  const arg: unknown = JSON.parse(process.argv[2] ?? '{}');
  const pacing = (arg as { pacing?: unknown }).pacing === 'none' ? 'none' : 'agent';
  // The meter wraps every send (about 1% of this process's CPU): only the paced phases read it.
  const meter = pacing === 'agent' ? installSendMeter() : new SendMeter();
  const services = await startBenchServices();
  const emu = await startEmulator({
    pacing,
    instances: [{ instanceId: BENCH_INSTANCE_ID, name: 'bench' }],
  });
  serveParent(
    {
      'meter-reset': () => meter.reset(),
      'meter-read': () => meter.read(),
      usage: () => {
        const u = process.cpuUsage();
        return { cpu_s: (u.user + u.system) / 1e6 };
      },
    },
    async () => {
      await emu.close();
      await services.close();
    },
  );
  announceReady({
    pacing,
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: emu.credentials,
    instanceId: BENCH_INSTANCE_ID,
    services: { source: services.source, sink: services.sink, echo: services.echo },
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator-proc: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
