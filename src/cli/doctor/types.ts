/**
 * `tunnel doctor`'s checks: each is a small module with an id, a scope (once, or per forward),
 * the checks it needs, a timeout and a `run` that returns what it found and the exact fix.
 */
import type { AwsSettings } from '../../aws/settings.js';
import type { SsmApi } from '../../aws/ssm-api.js';
import type { Clock } from '../../clock.js';
import type { TunnelConfig } from '../../config/schema.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import type { CliIo } from '../io.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export type CheckId =
  'runtime' | 'identity' | 'clock' | 'endpoints' | 'target' | 'permission' | 'destination' | 'local';

/** What a check found. `fix` is a command, a policy snippet or a setting; absent on pass. */
export interface Finding {
  status: CheckStatus;
  finding: string;
  fix?: string;
  /** Machine-readable facts (JSON output); never secrets. */
  details?: Record<string, unknown>;
}

/** One line of the report. */
export interface CheckResult extends Finding {
  check: CheckId;
  /** The forward the check is about (per-forward checks). */
  forward?: string;
  durationMs: number;
}

/** What every check can use; built once per `tunnel doctor`. */
export interface DoctorContext {
  io: CliIo;
  clock: Clock;
  config: TunnelConfig;
  aws: AwsSettings;
  /** The SSM client (built lazily: an invalid endpoint fails only the checks that use it). */
  api(): SsmApi;
  /** Region in effect, when known (flag, config, env, profile). */
  region: string | undefined;
  /** Results so far (dependencies and facts such as the caller's account). */
  results: CheckResult[];
  /** Fires when the check's timeout expires: release sessions and sockets. */
  signal: AbortSignal;
  /** This check's timeout (its own, or the one `--timeout` set for all). */
  timeoutMs: number;
  /** Set when `--timeout` overrides every check's own timeout. */
  userTimeoutMs?: number;
}

export interface Check {
  id: CheckId;
  scope: 'global' | 'forward';
  /** Checks (of the same forward, for per-forward checks) that must not have failed or been skipped. */
  needs: CheckId[];
  timeoutMs: number;
  /** What to say when the timeout expires. */
  timeoutFix: string;
  run(ctx: DoctorContext, forward: ForwardSpec | undefined): Promise<Finding>;
}

export function pass(finding: string, details?: Record<string, unknown>): Finding {
  return { status: 'pass', finding, ...(details === undefined ? {} : { details }) };
}
export function warn(finding: string, fix: string, details?: Record<string, unknown>): Finding {
  return { status: 'warn', finding, fix, ...(details === undefined ? {} : { details }) };
}
export function fail(finding: string, fix: string, details?: Record<string, unknown>): Finding {
  return { status: 'fail', finding, fix, ...(details === undefined ? {} : { details }) };
}

/** The result of `check` (for `forward`) among the results so far. */
export function resultOf(ctx: DoctorContext, check: CheckId, forward?: string): CheckResult | undefined {
  return ctx.results.find((r) => r.check === check && r.forward === forward);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
