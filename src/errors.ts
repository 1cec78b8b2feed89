/**
 * Typed errors for every layer of `tunnel`.
 *
 * Every error carries a stable `code` (`ERR_<LAYER>_<WHAT>`). The catalogue in
 * `docs/errors.md` lists each code once with its cause and remedy; a test keeps the
 * two in step. Layers add their codes to the list below, in their own section.
 */

export const ERROR_CODES = [
  // --- protocol/ssm: ClientMessage and payload codecs -----------------------------------
  'ERR_SSM_SHORT_MESSAGE',
  'ERR_SSM_BAD_HEADER_LENGTH',
  'ERR_SSM_LENGTH_MISMATCH',
  'ERR_SSM_DIGEST_MISMATCH',
  'ERR_SSM_UNKNOWN_MESSAGE_TYPE',
  'ERR_SSM_UNKNOWN_PAYLOAD_TYPE',
  'ERR_SSM_UNSAFE_INTEGER',
  'ERR_SSM_BAD_FIELD',
  'ERR_SSM_BAD_JSON',
  'ERR_SSM_BAD_FLAG',
  'ERR_SSM_EMPTY_PAYLOAD',
  // --- protocol/smux and mux -------------------------------------------------------------
  'ERR_SMUX_BAD_VERSION',
  'ERR_SMUX_UNKNOWN_COMMAND',
  'ERR_SMUX_BAD_LENGTH',
  'ERR_SMUX_FRAME_TOO_LARGE',
  'ERR_SMUX_STREAM_ID_EXHAUSTED',
  'ERR_SMUX_DUPLICATE_STREAM',
  'ERR_SMUX_SESSION_CLOSED',
  'ERR_SMUX_STREAM_RESET',
  'ERR_SMUX_KEEPALIVE_TIMEOUT',
  'ERR_SMUX_WINDOW_VIOLATION',
  'ERR_SMUX_ACCEPT_BACKLOG_FULL',
  'ERR_SMUX_BAD_CONFIG',
  // --- session: data channel -------------------------------------------------------------
  'ERR_SESSION_HANDSHAKE_TIMEOUT',
  'ERR_SESSION_HANDSHAKE_FAILED',
  'ERR_SESSION_UNSUPPORTED_SESSION_TYPE',
  'ERR_SESSION_RESEND_EXHAUSTED',
  'ERR_SESSION_CHANNEL_CLOSED',
  'ERR_SESSION_RESUME_FAILED',
  'ERR_SESSION_EXPIRED',
  'ERR_SESSION_CONNECT_FAILED',
  'ERR_SESSION_DEAD_PEER',
  'ERR_SESSION_CLOSED',
  'ERR_SESSION_WINDOW_FULL',
  'ERR_SESSION_REORDER_OVERFLOW',
  'ERR_SESSION_INSECURE_URL',
  'ERR_SESSION_ENCRYPTION',
  'ERR_SESSION_PLAINTEXT_REFUSED',
  'ERR_SESSION_UPGRADE_REFUSED',
  'ERR_SESSION_MESSAGE_TOO_LARGE',
  // --- aws: SSM / KMS API calls ----------------------------------------------------------
  'ERR_AWS_ACCESS_DENIED',
  'ERR_AWS_TARGET_NOT_CONNECTED',
  'ERR_AWS_INVALID_DOCUMENT',
  'ERR_AWS_INVALID_PARAMETERS',
  'ERR_AWS_CREDENTIALS',
  'ERR_AWS_EXPIRED_TOKEN',
  'ERR_AWS_THROTTLED',
  'ERR_AWS_ENDPOINT_UNREACHABLE',
  'ERR_AWS_INSECURE_ENDPOINT',
  'ERR_AWS_API',
  'ERR_AWS_KMS',
  'ERR_AWS_RESPONSE_TOO_LARGE',
  'ERR_AWS_BAD_RESPONSE',
  'ERR_AWS_TIMEOUT',
  'ERR_AWS_PROXY',
  'ERR_AWS_CA_BUNDLE',
  'ERR_AWS_UNKNOWN_PROFILE',
  // --- aws: sign-in (issue #15) ----------------------------------------------------------
  'ERR_AWS_LOGIN_REQUIRED',
  'ERR_AWS_LOGIN_FAILED',
  'ERR_AWS_NOT_SSO_PROFILE',
  // --- tunnel: forwards and listeners ----------------------------------------------------
  'ERR_TUNNEL_TARGET_NOT_FOUND',
  'ERR_TUNNEL_TARGET_AMBIGUOUS',
  'ERR_TUNNEL_PORT_IN_USE',
  'ERR_TUNNEL_BIND_FAILED',
  'ERR_TUNNEL_CONNECT_TO_PORT',
  'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN',
  'ERR_TUNNEL_SESSION_LOST',
  'ERR_TUNNEL_NOT_READY',
  'ERR_TUNNEL_STOPPED',
  'ERR_TUNNEL_PROBE_FAILED',
  'ERR_TUNNEL_DUPLICATE_FORWARD',
  // --- config ----------------------------------------------------------------------------
  'ERR_CONFIG_INVALID',
  'ERR_CONFIG_PARSE',
  'ERR_CONFIG_NOT_FOUND',
  'ERR_CONFIG_UNKNOWN_FORWARD',
  'ERR_CONFIG_NO_BASTION',
  // --- cli -------------------------------------------------------------------------------
  'ERR_CLI_USAGE',
  'ERR_CLI_COMMAND_FAILED',
  'ERR_CLI_TIMEOUT',
  'ERR_CLI_HOSTS_FILE',
  // --- emulator --------------------------------------------------------------------------
  'ERR_EMULATOR_CONFIG',
  'ERR_EMULATOR_BAD_TOKEN',
  'ERR_EMULATOR_PORT_IN_USE',
  'ERR_EMULATOR_LISTEN',
  // --- daemon: the background process and its control socket ------------------------------
  'ERR_DAEMON_NOT_RUNNING',
  'ERR_DAEMON_PROTOCOL',
  'ERR_DAEMON_ACCESS',
  'ERR_DAEMON_START_FAILED',
  'ERR_DAEMON_NO_SUCH_FORWARD',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface TunnelErrorOptions {
  cause?: unknown;
  /** Free-form, non-secret details for `--json` events and tests. */
  details?: Record<string, string | number | boolean | null>;
}

/** The codes whose name starts with `ERR_<P>_`: the family an error class may carry. */
export type CodesOf<P extends string> = Extract<ErrorCode, `ERR_${P}_${string}`>;

/**
 * Base class of every error `tunnel` raises on purpose. `C` is the code family of the
 * subclass, so `new MuxError('ERR_AWS_API', …)` does not type-check.
 */
export class TunnelError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: Record<string, string | number | boolean | null>;

  constructor(code: C, message: string, options: TunnelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** A peer sent bytes that violate the wire format (data channel or smux). */
export class ProtocolError extends TunnelError<CodesOf<'SSM' | 'SMUX'>> {}
/** The data channel (session layer) failed. */
export class SessionError extends TunnelError<CodesOf<'SESSION'>> {}
/** The smux multiplexer failed. */
export class MuxError extends TunnelError<CodesOf<'SMUX'>> {}
/** An AWS API call (SSM, KMS) failed; `awsCode` is the service's `__type`. */
export class AwsError extends TunnelError<CodesOf<'AWS'>> {
  get awsCode(): string | undefined {
    const v = this.details['awsCode'];
    return typeof v === 'string' ? v : undefined;
  }
}
/**
 * A forward could not be brought up or kept up. Its code is its own (`ERR_TUNNEL_*`); a failure
 * that came from a lower layer keeps that error as `cause`, so nothing is turned back from a string.
 */
export class ForwardError extends TunnelError<CodesOf<'TUNNEL'>> {}

export interface ConfigIssue {
  /** File the problem is in, when it came from a file. */
  file?: string;
  /** 1-based line and column, when known. */
  line?: number;
  column?: number;
  /** JSON path such as `forwards.db.localPort`. */
  path: string;
  message: string;
  hint?: string;
}

/** The configuration is invalid; `issues` lists every problem found, not just the first. */
export class ConfigError extends TunnelError<CodesOf<'CONFIG'>> {
  readonly issues: readonly ConfigIssue[];
  constructor(
    code: CodesOf<'CONFIG'>,
    message: string,
    issues: readonly ConfigIssue[] = [],
    options: TunnelErrorOptions = {},
  ) {
    super(code, message, options);
    this.issues = issues;
  }
}

/** The command line was used wrongly (exit code 2). */
export class UsageError extends TunnelError<'ERR_CLI_USAGE'> {
  constructor(message: string, options: TunnelErrorOptions = {}) {
    super('ERR_CLI_USAGE', message, options);
  }
}

/** The emulator was configured or driven wrongly. */
export class EmulatorError extends TunnelError<CodesOf<'EMULATOR'>> {}

/** True when `code` belongs to the family `ERR_<family>_…` (narrows it to that family). */
export function isCodeOf<P extends string>(code: ErrorCode, family: P): code is CodesOf<P> {
  return code.startsWith(`ERR_${family}_`);
}

/** True when `e` is a TunnelError, and (if given) has exactly this code. */
export function isTunnelError(e: unknown, code?: ErrorCode): e is TunnelError {
  return e instanceof TunnelError && (code === undefined || e.code === code);
}
