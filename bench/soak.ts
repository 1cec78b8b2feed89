/**
 * `npm run soak`: the fault scenarios of issue #8 at 64 MiB per direction per fault (4 connections
 * × 16 MiB each way), sha256-verified, through TunnelManager and the emulator on loopback. The
 * CI test (test/reliability/faults.test.ts) runs the same scenarios with 4 MiB.
 *
 * Flags: `--mib N` (per direction per fault, default 64), `--only SUBSTRING` (faults whose name
 * contains it). Prints one line per fault (time, throughput, failures) and exits 1 on any failure.
 */
import { MiB } from '../test/helpers/exchange-rig.js';
import { RECOVERABLE, recoverable, sessionLoss, type Checker } from '../test/reliability/scenarios.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const totalMiB = Number(flag('mib') ?? 64);
const only = flag('only');
const CONNECTIONS = 4;
const perConnection = Math.max(1, Math.round((totalMiB * MiB) / CONNECTIONS));

/** A Checker that records failures instead of asserting through tap. */
class SoakChecker implements Checker {
  readonly failures: string[] = [];
  readonly #teardowns: Array<() => unknown> = [];
  ok(value: unknown, message: string): boolean {
    if (!value) this.failures.push(message);
    return Boolean(value);
  }
  notOk(value: unknown, message: string): boolean {
    return this.ok(!value, message);
  }
  equal(found: unknown, wanted: unknown, message: string): boolean {
    return this.ok(found === wanted, `${message} (found ${String(found)}, wanted ${String(wanted)})`);
  }
  not(found: unknown, wanted: unknown, message: string): boolean {
    return this.ok(found !== wanted, `${message} (both ${String(found)})`);
  }
  teardown(fn: () => unknown): void {
    this.#teardowns.push(fn);
  }
  async close(): Promise<void> {
    for (const fn of this.#teardowns.reverse()) await fn();
  }
}

const scenarios: Array<{ name: string; run(c: Checker): Promise<void> }> = [
  ...RECOVERABLE.map((fault) => ({
    name: fault.name,
    run: (c: Checker) => recoverable(c, fault, CONNECTIONS, perConnection),
  })),
  {
    name: 'ResumeSession refused with 403',
    run: (c: Checker) =>
      sessionLoss(
        c,
        '403 on resume',
        (rig, sessionId) => {
          rig.emu.faults = { failResumeOnce: true };
          rig.emu.gatewaySession(sessionId)?.destroySockets();
        },
        CONNECTIONS,
        perConnection,
      ),
  },
  {
    name: 'agent restarted',
    run: (c: Checker) =>
      sessionLoss(
        c,
        'agent restart',
        (rig, sessionId) => rig.emu.restartAgent(sessionId, { handshakeTimeoutMs: 200 }),
        CONNECTIONS,
        perConnection,
      ),
  },
];

console.log(
  `soak: ${totalMiB} MiB per direction per fault (${CONNECTIONS} connections × ${(perConnection / MiB).toFixed(1)} MiB each way)`,
);
let failed = 0;
for (const s of scenarios) {
  if (only !== undefined && !s.name.includes(only)) continue;
  const c = new SoakChecker();
  const t0 = performance.now();
  try {
    await s.run(c);
  } catch (e) {
    c.failures.push(`threw: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await c.close();
  }
  const s2 = (performance.now() - t0) / 1000;
  const rate = (2 * CONNECTIONS * perConnection) / MiB / s2;
  console.log(
    `${c.failures.length === 0 ? 'PASS' : 'FAIL'}  ${s.name.padEnd(40)} ${s2.toFixed(1).padStart(7)} s  ${rate.toFixed(1).padStart(6)} MiB/s (both directions)`,
  );
  for (const f of c.failures) console.log(`      ${f}`);
  if (c.failures.length > 0) failed++;
}
console.log(failed === 0 ? 'soak: PASS' : `soak: FAIL (${failed} scenarios)`);
process.exit(failed === 0 ? 0 : 1);
