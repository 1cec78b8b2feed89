/**
 * Seeded fuzzing in CI (issue #8): 50,000 cases over the SSM and smux codecs and both state
 * machines (ReliableLink and the client DataChannel, MuxSession); `npm run fuzz` runs 1,000,000. A case passes when it
 * returns or throws a TunnelError with its layer's code prefix; any other throw, a broken
 * invariant, an uncaught async error or unbounded memory fails the run. FUZZ_CASES and
 * FUZZ_SEED override the defaults (e.g. to reproduce a failure from the bench).
 */
import t from 'tap';
import { formatReport, runFuzz } from '../helpers/fuzz.js';
import { FUZZ_TARGETS } from './targets/index.js';

const cases = Number(process.env['FUZZ_CASES'] ?? 50_000);
const seed = Number(process.env['FUZZ_SEED'] ?? 0x7e57);

t.test(`${cases} seeded cases: no crash, no hang, only typed errors, bounded memory`, async (t) => {
  const report = await runFuzz(FUZZ_TARGETS, { seed, cases });
  t.comment(formatReport(report));
  t.same(report.failures, [], 'no case failed');
  t.equal(report.cases, cases, 'every case ran');
  for (const target of FUZZ_TARGETS) {
    const s = report.targets[target.name];
    t.ok(s !== undefined && s.cases > 0, `${target.name} ran ${s?.cases ?? 0} cases`);
    // No hang: the slowest single case stays below 5 s even on a loaded CI machine (typically < 100 ms).
    t.ok(s !== undefined && s.slowestCaseMs < 5000, `${target.name}: slowest case ${s?.slowestCaseMs.toFixed(1)} ms`);
  }
  // The generators must reach both outcomes, or the run proves little.
  const outcomes = (name: string): Record<string, number> => report.targets[name]?.outcomes ?? {};
  t.ok(
    (outcomes('ssm-frame')['accepted'] ?? 0) > 0 && (outcomes('ssm-frame')['ERR_SSM_DIGEST_MISMATCH'] ?? 0) > 0,
    'ssm-frame reaches acceptance and the digest check',
  );
  t.ok(
    (outcomes('smux-decoder')['ERR_SMUX_BAD_VERSION'] ?? 0) > 0 && (outcomes('smux-decoder')['clean'] ?? 0) > 0,
    'smux-decoder reaches clean streams and version errors',
  );
  t.ok(
    (outcomes('mux-session')['session-closed'] ?? 0) > 0 && (outcomes('mux-session')['survived'] ?? 0) > 0,
    'mux-session reaches both survival and protocol shutdown',
  );
  t.ok((outcomes('reliable-link-ops')['delivered'] ?? 0) > 0, 'reliable-link-ops delivers');
  // Bounded memory: the heap after the run is within 256 MiB of before (nothing retained per case).
  t.ok(
    report.heapUsedAfter - report.heapUsedBefore < 256 * 1024 * 1024,
    `heap grew by ${((report.heapUsedAfter - report.heapUsedBefore) / 1048576).toFixed(1)} MiB`,
  );
});
