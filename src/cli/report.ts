/** Turning an error into what the user sees: text on stderr, an `error` event with --json. */
import { ConfigError, isTunnelError } from '../errors.js';
import { formatIssue } from '../config/validate.js';
import type { CliIo } from './io.js';
import { redactKeys } from './output/redact.js';

export interface ReportOptions {
  json: boolean;
  verbose: boolean;
  /** Profile in use, for the `tunnel login --profile …` advice. */
  profile?: string | undefined;
  /** Write the human text to stderr (default true; `run --json` keeps stderr pure NDJSON). */
  text?: boolean;
}

/** Extra advice for errors with a well-known fix. */
export function adviceFor(err: unknown, profile?: string): string | undefined {
  if (!isTunnelError(err)) return undefined;
  return adviceForCode(err.code, err.message, profile);
}

/** The hint for an error known by its code and message (an NDJSON event carries no error object). */
export function adviceForCode(code: string, message: string, profile?: string): string | undefined {
  const p = profile === undefined ? '' : ` --profile ${profile}`;
  const sso = /\bsso\b|SSO/.test(message);
  switch (code) {
    case 'ERR_AWS_EXPIRED_TOKEN':
      return sso
        ? `the SSO session has expired: run \`tunnel login${p}\``
        : `the credentials have expired: refresh them (for SSO profiles: \`tunnel login${p}\`)`;
    case 'ERR_AWS_CREDENTIALS':
      return sso
        ? `run \`tunnel login${p}\` and try again`
        : 'set AWS credentials (environment, --profile, or `aws configure`)';
    case 'ERR_AWS_LOGIN_REQUIRED':
    case 'ERR_AWS_LOGIN_FAILED':
      return undefined;
    case 'ERR_AWS_ACCESS_DENIED':
      if (/MultiFactorAuthentication/.test(message)) return 'the MFA code was refused: run again with a current code';
      return 'the identity needs ssm:StartSession on the target and document (and ssm:TerminateSession, ssm:ResumeSession)';
    case 'ERR_AWS_TARGET_NOT_CONNECTED':
      return 'the instance is not online in Session Manager: check its SSM agent, IAM role and network path (`tunnel targets`)';
    case 'ERR_TUNNEL_TARGET_NOT_FOUND': {
      // Issue #19: databases and ECS tasks have their own listings.
      if (/\(rds:|Aurora cluster|DB instance/.test(message)) return 'run `tunnel targets --rds` to list databases';
      if (/ElastiCache|\bcaches?\b/.test(message)) return 'run `tunnel targets --cache` to list caches';
      if (/\bECS\b|ecs:/.test(message)) return 'run `tunnel targets --ecs CLUSTER` to list tasks and containers';
      return 'run `tunnel targets` to list managed instances';
    }
    case 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN':
      return "the instance's SSM agent refuses this destination (its deny list: metadata and VPC DNS addresses); choose another host";
    case 'ERR_TUNNEL_CONNECT_TO_PORT':
      return 'the instance resolves and dials the host itself: check the name from the instance (its DNS), the port and security groups';
    case 'ERR_TUNNEL_PORT_IN_USE':
      return 'choose another local port (TARGET:PORT:LOCAL_PORT) or `auto`';
    case 'ERR_AWS_ENDPOINT_UNREACHABLE':
      return 'check --endpoint/--region and the network';
    case 'ERR_AWS_TIMEOUT':
      return 'the endpoint accepted the connection but did not answer in time: check --endpoint, the network and proxy (raise --timeout on a slow link)';
    case 'ERR_AWS_PROXY':
      return 'check the proxy URL (--proxy, proxy:, HTTPS_PROXY) and that it allows CONNECT; NO_PROXY lists hosts that bypass it';
    default:
      return undefined;
  }
}

function causeChain(err: unknown): string[] {
  const out: string[] = [];
  let c: unknown = err instanceof Error ? err.cause : undefined;
  for (let i = 0; i < 5 && c instanceof Error; i++) {
    out.push(c.message);
    c = c.cause;
  }
  return out;
}

/** Errors whose text (with its hint) the user has already seen, e.g. a forward's failure line. */
const shown = new WeakSet<object>();

/** `err` has been printed with its hint: reportError writes only the --json event for it. */
export function markShown<E extends object>(err: E): E {
  shown.add(err);
  return err;
}

export function reportError(io: CliIo, err: unknown, exitCode: number, options: ReportOptions): void {
  const time = new Date(io.clock.wallNow()).toISOString();
  if (options.json) {
    const event: Record<string, unknown> = { type: 'error', time, exitCode };
    if (isTunnelError(err)) {
      event['code'] = err.code;
      event['message'] = err.message;
      if (Object.keys(err.details).length > 0) event['details'] = err.details;
    } else event['message'] = err instanceof Error ? err.message : String(err);
    if (err instanceof ConfigError && err.issues.length > 0) event['issues'] = err.issues;
    io.stdout.write(`${JSON.stringify(redactKeys(event))}\n`);
  }
  if (options.text === false) return;
  if (typeof err === 'object' && err !== null && shown.has(err)) return;
  const lines: string[] = [];
  if (err instanceof ConfigError) {
    lines.push(`tunnel: ${err.message}`);
    for (const issue of err.issues) lines.push(`  ${formatIssue(issue)}`);
  } else if (isTunnelError(err)) {
    lines.push(`tunnel: ${err.message} [${err.code}]`);
  } else {
    lines.push(`tunnel: internal error: ${err instanceof Error ? err.message : String(err)}`);
    if (options.verbose && err instanceof Error && err.stack !== undefined) lines.push(err.stack);
  }
  const advice = adviceFor(err, options.profile);
  if (advice !== undefined) lines.push(`  hint: ${advice}`);
  if (options.verbose) for (const c of causeChain(err)) lines.push(`  caused by: ${c}`);
  io.stderr.write(`${lines.join('\n')}\n`);
}
