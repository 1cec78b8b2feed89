/**
 * `tunnel demo`: embedded emulator + demo services + the demo config, forwards up, self-check,
 * then stay up until Ctrl-C (`--once`: exit after the check, 0 only if every check passed).
 */
import type { AwsSettings } from '../../aws/settings.js';
import { selectForwards } from '../../config/resolve.js';
import { parseConfigText } from '../../config/source.js';
import { validateConfig } from '../../config/validate.js';
import { rendererFor } from '../context.js';
import { runForwarding } from '../forwarding.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';
import { runChecks } from './demo-check.js';
import { DEMO_CONFIG } from './demo-config.js';
import { endpointOf } from './run-impl.js';

export async function runDemo(io: CliIo, args: GlobalArgs, options: { once: boolean; bytes: number }): Promise<number> {
  const { startDemoServices, startEmulator } = await import('../../emulator/index.js');
  const { AGENT_READ_PAUSE_MS, STREAM_DATA_PAYLOAD_BYTES } = await import('../../emulator/pacing.js');
  const source = parseConfigText(DEMO_CONFIG, 'examples/demo.yaml');
  const config = validateConfig(source.value, source);
  const renderer = rendererFor(io, args);
  const services = await startDemoServices();
  try {
    // As the current service: the data-channel upgrade must be SigV4-signed (client 1.2.764.0+).
    const emu = await startEmulator({ destinations: services.destinations, dataChannelAuth: 'required' });
    try {
      renderer.info(`emulator on ${emu.endpoint}; demo instance i-0123456789abcdef0 (Name=demo)`);
      const creds = { ...emu.credentials };
      const aws: AwsSettings = {
        endpoint: emu.endpoint,
        region: emu.region,
        credentials: () => Promise.resolve(creds),
        env: {},
      };
      return await runForwarding(io, {
        specs: selectForwards(config, []),
        aws,
        renderer,
        timeoutMs: config.defaults.timeoutMs,
        requireAll: true,
        whileUp: async (up, signal) => {
          const echo = up.find((s) => s.name === 'echo');
          const web = up.find((s) => s.name === 'web');
          const echoEp = echo === undefined ? undefined : endpointOf(echo);
          const webEp = web === undefined ? undefined : endpointOf(web);
          if (echoEp === undefined || webEp === undefined) return 1;
          const results = await runChecks(io.clock, echoEp, webEp, options.bytes);
          for (const r of results) {
            renderer.cliEvent(
              'check',
              { check: r.check, ok: r.ok, summary: r.summary, ...r.metrics },
              `check ${r.check.padEnd(8)} ${r.ok ? 'ok  ' : 'FAIL'}  ${r.summary}`,
            );
          }
          // Download and upload differ on purpose: the emulated agent paces what it sends as the
          // real one does (reads of at most 1 KiB, a 1 ms pause per read: about 1 MB/s per
          // session), while what the client sends is limited only by its window.
          renderer.info(
            `downloads are paced like the real agent (${STREAM_DATA_PAYLOAD_BYTES} B/${AGENT_READ_PAUSE_MS} ms, ~1 MB/s); uploads are not`,
          );
          const passed = results.every((r) => r.ok);
          renderer.cliEvent(
            'demo-result',
            { ok: passed, checks: results.length },
            passed ? 'all checks passed' : 'some checks FAILED',
          );
          if (options.once) return passed ? 0 : 1;
          renderer.info(`try: curl http://${webEp.addr}/   or   nc ${echoEp.host} ${echoEp.port}   (Ctrl-C to stop)`);
          if (!signal.aborted)
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          return passed ? 0 : 1;
        },
      });
    } finally {
      await emu.close();
    }
  } finally {
    await services.close();
  }
}
