/**
 * Run the checks in order: the global ones once, then the per-forward ones for each forward.
 * Every check has a timeout; a check whose prerequisites failed is skipped (with the reason),
 * and a check that throws or times out fails without stopping the others.
 */
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import { errorText, resultOf, type Check, type CheckResult, type DoctorContext, type Finding } from './types.js';

export interface RunOptions {
  checks: readonly Check[];
  forwards: readonly ForwardSpec[];
  /** Overrides every check's own timeout. */
  timeoutMs?: number;
  /** Called with each result as soon as it is known (streamed output). */
  onResult(result: CheckResult): void;
}

export async function runChecks(
  base: Omit<DoctorContext, 'signal' | 'results' | 'timeoutMs' | 'userTimeoutMs'>,
  options: RunOptions,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const one = async (check: Check, forward: ForwardSpec | undefined): Promise<void> => {
    const started = base.clock.now();
    const abort = new AbortController();
    const timeoutMs = options.timeoutMs ?? check.timeoutMs;
    const ctx: DoctorContext = {
      ...base,
      results,
      signal: abort.signal,
      timeoutMs,
      ...(options.timeoutMs === undefined ? {} : { userTimeoutMs: options.timeoutMs }),
    };
    const blocked = check.needs
      .map((n) => resultOf(ctx, n, check.scope === 'forward' ? forward?.name : undefined) ?? resultOf(ctx, n))
      .find((r) => r !== undefined && (r.status === 'fail' || r.status === 'skip'));
    let finding: Finding;
    if (blocked !== undefined) {
      finding = { status: 'skip', finding: `not run: the ${blocked.check} check did not pass` };
    } else {
      let timer: ReturnType<DoctorContext['clock']['setTimeout']> | undefined;
      const timedOut = new Promise<Finding>((resolve) => {
        timer = base.clock.setTimeout(() => {
          abort.abort();
          resolve({
            status: 'fail',
            finding: `no answer within ${Math.round(timeoutMs / 100) / 10} s`,
            fix: check.timeoutFix,
            details: { timeoutMs },
          });
        }, timeoutMs);
      });
      try {
        finding = await Promise.race([
          check.run(ctx, forward).catch((err: unknown): Finding => ({
            status: 'fail',
            finding: `the check itself failed: ${errorText(err)}`,
            fix: 'run `tunnel doctor --verbose` and report this as a bug',
          })),
          timedOut,
        ]);
      } finally {
        if (timer !== undefined) base.clock.clearTimeout(timer);
        abort.abort();
      }
    }
    const result: CheckResult = {
      check: check.id,
      ...(check.scope === 'forward' && forward !== undefined ? { forward: forward.name } : {}),
      ...finding,
      durationMs: Math.max(0, Math.round(base.clock.now() - started)),
    };
    results.push(result);
    options.onResult(result);
  };
  for (const check of options.checks.filter((c) => c.scope === 'global')) await one(check, undefined);
  for (const forward of options.forwards) {
    for (const check of options.checks.filter((c) => c.scope === 'forward')) await one(check, forward);
  }
  return results;
}
