/**
 * Exit statuses (sysexits.h where one fits), documented in docs/cli.md. Scripts rely on them:
 * they never change meaning.
 */
import { ERROR_CODES, isTunnelError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** A TunnelError without a more specific status. */
  FAILURE: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** EX_UNAVAILABLE: target not found, not connected, endpoint or destination unreachable. */
  UNAVAILABLE: 69,
  /** EX_SOFTWARE: an unexpected internal error (a bug in tunnel). */
  SOFTWARE: 70,
  /** EX_OSERR: the operating system refused (cannot bind the address). */
  OSERR: 71,
  /** EX_TEMPFAIL: worth retrying: local port in use, throttled, not ready within --timeout. */
  TEMPFAIL: 75,
  /** EX_NOPERM: credentials missing/expired/rejected, access denied, host on the deny list. */
  NOPERM: 77,
  /** EX_CONFIG: the configuration (file, env or endpoint setting) is invalid. */
  CONFIG: 78,
  /** `tunnel run`: the command exists but could not be executed (as shells do). */
  CANNOT_EXECUTE: 126,
  /** `tunnel run`: the command was not found (as shells do). */
  COMMAND_NOT_FOUND: 127,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_CLI_USAGE: EXIT.USAGE,
  ERR_CONFIG_INVALID: EXIT.CONFIG,
  ERR_CONFIG_PARSE: EXIT.CONFIG,
  ERR_CONFIG_NOT_FOUND: EXIT.CONFIG,
  ERR_CONFIG_UNKNOWN_FORWARD: EXIT.CONFIG,
  ERR_CONFIG_NO_BASTION: EXIT.CONFIG,
  ERR_CLI_HOSTS_FILE: EXIT.NOPERM,
  ERR_EMULATOR_CONFIG: EXIT.CONFIG,
  ERR_AWS_INSECURE_ENDPOINT: EXIT.CONFIG,
  ERR_AWS_CA_BUNDLE: EXIT.CONFIG,
  ERR_AWS_UNKNOWN_PROFILE: EXIT.CONFIG,
  ERR_SESSION_UPGRADE_REFUSED: EXIT.NOPERM,
  ERR_AWS_ACCESS_DENIED: EXIT.NOPERM,
  ERR_AWS_CREDENTIALS: EXIT.NOPERM,
  ERR_AWS_EXPIRED_TOKEN: EXIT.NOPERM,
  ERR_AWS_LOGIN_REQUIRED: EXIT.NOPERM,
  ERR_AWS_LOGIN_FAILED: EXIT.NOPERM,
  ERR_AWS_NOT_SSO_PROFILE: EXIT.CONFIG,
  ERR_TUNNEL_REMOTE_HOST_FORBIDDEN: EXIT.NOPERM,
  ERR_TUNNEL_TARGET_NOT_FOUND: EXIT.UNAVAILABLE,
  ERR_TUNNEL_TARGET_AMBIGUOUS: EXIT.UNAVAILABLE,
  ERR_AWS_TARGET_NOT_CONNECTED: EXIT.UNAVAILABLE,
  ERR_AWS_ENDPOINT_UNREACHABLE: EXIT.UNAVAILABLE,
  ERR_AWS_RESPONSE_TOO_LARGE: EXIT.UNAVAILABLE,
  ERR_AWS_BAD_RESPONSE: EXIT.UNAVAILABLE,
  ERR_AWS_TIMEOUT: EXIT.UNAVAILABLE,
  ERR_AWS_PROXY: EXIT.UNAVAILABLE,
  ERR_TUNNEL_CONNECT_TO_PORT: EXIT.UNAVAILABLE,
  ERR_TUNNEL_PROBE_FAILED: EXIT.UNAVAILABLE,
  ERR_TUNNEL_PORT_IN_USE: EXIT.TEMPFAIL,
  ERR_AWS_THROTTLED: EXIT.TEMPFAIL,
  ERR_TUNNEL_NOT_READY: EXIT.TEMPFAIL,
  ERR_CLI_TIMEOUT: EXIT.TEMPFAIL,
  ERR_TUNNEL_BIND_FAILED: EXIT.OSERR,
  ERR_EMULATOR_PORT_IN_USE: EXIT.TEMPFAIL,
  ERR_EMULATOR_LISTEN: EXIT.OSERR,
  ERR_DAEMON_NOT_RUNNING: EXIT.UNAVAILABLE,
  ERR_DAEMON_PROTOCOL: EXIT.UNAVAILABLE,
  ERR_DAEMON_START_FAILED: EXIT.UNAVAILABLE,
  ERR_DAEMON_ACCESS: EXIT.NOPERM,
};

/** The exit status for an error thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (!isTunnelError(err)) return EXIT.SOFTWARE;
  if (err.code === 'ERR_CLI_COMMAND_FAILED') {
    return err.details['errno'] === 'ENOENT' ? EXIT.COMMAND_NOT_FOUND : EXIT.CANNOT_EXECUTE;
  }
  return BY_CODE[err.code] ?? EXIT.FAILURE;
}

/** Rows for docs/cli.md (a test keeps the doc and this table in step). */
export function exitCodeTable(): Array<{ status: number; codes: ErrorCode[] }> {
  const rows = new Map<number, ErrorCode[]>();
  for (const code of ERROR_CODES) {
    const status = BY_CODE[code];
    if (status === undefined) continue;
    const list = rows.get(status) ?? [];
    list.push(code);
    rows.set(status, list);
  }
  return [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([status, codes]) => ({ status, codes }));
}
