/**
 * `npm run fuzz`: 1,000,000 seeded fuzz cases over the SSM and smux codecs and both state
 * machines (issue #8). The CI test (`test/fuzz/fuzz.test.ts`) runs the same targets with 50,000.
 *
 * Flags: `--cases N` (default 1,000,000), `--seed S` (default 0x7e57, the CI seed), `--target NAME`
 * (one target only), `--case I` (run only case I: reproduce a reported failure). Exits 1 when any
 * case failed, any uncaught error escaped a case, or the heap did not come back down.
 */
import { formatReport, runFuzz } from '../test/helpers/fuzz.js';
import { FUZZ_TARGETS } from '../test/fuzz/targets/index.js';

const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
const cases = Number(flag('cases') ?? 1_000_000);
const seed = Number(flag('seed') ?? 0x7e57);
const only = flag('case');
const targetName = flag('target');
const targets = targetName === undefined ? FUZZ_TARGETS : FUZZ_TARGETS.filter((t) => t.name === targetName);
if (targets.length === 0 || !Number.isInteger(cases) || cases <= 0) {
  console.error(
    `usage: npm run fuzz -- [--cases N] [--seed S] [--target ${FUZZ_TARGETS.map((t) => t.name).join('|')}] [--case I]`,
  );
  process.exit(2);
}

const uncaught: string[] = [];
process.on('uncaughtException', (e) => uncaught.push(e instanceof Error ? (e.stack ?? e.message) : String(e)));
process.on('unhandledRejection', (e) => uncaught.push(e instanceof Error ? (e.stack ?? e.message) : String(e)));

const started = Date.now();
const report = await runFuzz(targets, {
  seed,
  cases,
  ...(only === undefined ? {} : { only: Number(only) }),
  progressEvery: 50_000,
  onProgress(done, r) {
    const rss = (process.memoryUsage().rss / 1048576).toFixed(0);
    console.log(
      `${done} cases, ${((Date.now() - started) / 1000).toFixed(0)} s, ${r.failures.length} failures, rss ${rss} MiB`,
    );
  },
});
console.log(formatReport(report));
if (uncaught.length > 0) console.log(`uncaught errors:\n${uncaught.slice(0, 5).join('\n')}`);
const growthMiB = (report.heapUsedAfter - report.heapUsedBefore) / 1048576;
console.log(
  `heap: ${(report.heapUsedBefore / 1048576).toFixed(0)} MiB before, ${(report.heapUsedAfter / 1048576).toFixed(0)} MiB after`,
);
const ok = report.failures.length === 0 && uncaught.length === 0 && growthMiB < 256;
console.log(ok ? 'fuzz: PASS' : 'fuzz: FAIL');
process.exit(ok ? 0 : 1);
