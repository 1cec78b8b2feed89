/**
 * `tunnel doctor [NAME|SPEC…]`: the checks in order, one line each (status, finding, fix), a
 * summary, `--json` one object per check (docs/doctor.schema.json). Exit status 0 when nothing
 * failed, 1 otherwise.
 */
import { profileInfo } from '../../aws/credential-info.js';
import { createSsmApi as createApi, type SsmApi } from '../../aws/ssm-api.js';
import { selectForwards, specsFromWords } from '../../config/resolve.js';
import { awsSettingsFor } from '../aws-settings.js';
import { loadFor } from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';
import { clockCheck } from './clock.js';
import { destinationCheck } from './destination.js';
import { endpointsCheck } from './endpoints.js';
import { identityCheck } from './identity.js';
import { localCheck } from './local.js';
import { permissionCheck } from './permission.js';
import { runChecks } from './runner.js';
import { runtimeCheck } from './runtime.js';
import { targetCheck } from './target.js';
import type { Check, CheckResult } from './types.js';

/** Every check, in the order they run (global ones first, then per forward). */
export const CHECKS: readonly Check[] = [
  runtimeCheck,
  identityCheck,
  clockCheck,
  endpointsCheck,
  targetCheck,
  permissionCheck,
  destinationCheck,
  localCheck,
];

const LABEL = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const;

function textLine(r: CheckResult, verbose: boolean): string {
  const name = r.forward === undefined ? r.check : `${r.forward}/${r.check}`;
  const fix = r.fix === undefined ? '' : `\n      fix: ${r.fix}`;
  const more =
    verbose && r.details !== undefined ? `\n      details: ${JSON.stringify(r.details)} (${r.durationMs} ms)` : '';
  return `${LABEL[r.status]}  ${name}: ${r.finding}${fix}${more}\n`;
}

export function summarize(results: readonly CheckResult[]): {
  passed: number;
  warnings: number;
  failed: number;
  skipped: number;
} {
  const n = (s: CheckResult['status']): number => results.filter((r) => r.status === s).length;
  return { passed: n('pass'), warnings: n('warn'), failed: n('fail'), skipped: n('skip') };
}

export async function doctor(io: CliIo, args: GlobalArgs, words: readonly string[]): Promise<number> {
  const { config } = await loadFor(io, args);
  const forwards = words.length > 0 ? specsFromWords(config, words) : selectForwards(config, []);
  const aws = await awsSettingsFor(io, config);
  let region = aws.region ?? io.env['AWS_REGION'] ?? io.env['AWS_DEFAULT_REGION'];
  if (region === undefined && aws.credentials === undefined)
    region = await profileInfo(aws)
      .then((p) => p.region)
      .catch(() => undefined);
  let api: SsmApi | undefined;
  const time = (): string => new Date(io.clock.wallNow()).toISOString();
  if (!args.json && !args.quiet && forwards.length === 0)
    io.stderr.write('no forwards configured or given: only the global checks run (try `tunnel doctor db:5432`)\n');
  const results = await runChecks(
    {
      io,
      clock: io.clock,
      config,
      aws: { ...aws, ...(region === undefined ? {} : { region }) },
      region,
      api: () => {
        if (api === undefined) {
          // Loaded on first use; an insecure endpoint throws here and fails only that check.
          api = createApi({ ...aws, ...(region === undefined ? {} : { region }) });
        }
        return api;
      },
    },
    {
      checks: CHECKS,
      forwards,
      ...(args.timeout === undefined ? {} : { timeoutMs: config.defaults.timeoutMs }),
      onResult(r) {
        if (args.json) {
          io.stdout.write(
            `${JSON.stringify({
              type: 'check',
              time: time(),
              check: r.check,
              forward: r.forward ?? null,
              status: r.status,
              finding: r.finding,
              fix: r.fix ?? null,
              durationMs: r.durationMs,
              details: r.details ?? {},
            })}\n`,
          );
        } else if (!args.quiet || r.status === 'fail') io.stdout.write(textLine(r, args.verbose));
      },
    },
  );
  const s = summarize(results);
  const ok = s.failed === 0;
  if (args.json) io.stdout.write(`${JSON.stringify({ type: 'summary', time: time(), ...s, ok })}\n`);
  else
    io.stdout.write(
      `\n${ok ? 'no problems found' : 'problems found'}: ${s.passed} passed, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.failed} failed, ${s.skipped} skipped\n`,
    );
  return ok ? EXIT.OK : EXIT.FAILURE;
}
