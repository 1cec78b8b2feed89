/**
 * Settings for talking to the SSM API, and the endpoint rules.
 *
 * The endpoint is `settings.endpoint`, else `AWS_ENDPOINT_URL_SSM`, else the SDK's regional
 * default. A plain `http://` endpoint is refused unless its host is loopback (the embedded
 * emulator): request signatures and session tokens must not cross a network in clear text.
 */
import { AwsError } from '../errors.js';
import { isLoopbackName } from '../loopback.js';

/** AWS credentials as the SDK's signer consumes them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When the credentials stop working; providers without it are treated as long-lived. */
  expiration?: Date;
}

/** Same shape as the SDK's `AwsCredentialIdentityProvider` (a memoizing provider honours `forceRefresh`). */
export type AwsCredentialIdentityProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

export interface AwsSettings {
  region?: string;
  /** Shared-config profile (SSO, assume-role, credential_process all work through it). */
  profile?: string;
  /** SSM endpoint URL, e.g. the emulator's `http://127.0.0.1:PORT`. */
  endpoint?: string;
  credentials?: AwsCredentialIdentityProvider;
  /** Allow plain http to a non-loopback host. Never needed for loopback. */
  allowInsecureEndpoint?: boolean;
  /** Environment to read `AWS_ENDPOINT_URL_SSM` from; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** SDK attempts per call (1 = no retry); default 3. */
  maxAttempts?: number;
  /** Asked for a code when a profile's role needs MFA (`mfa_serial`); the CLI prompts on a terminal. */
  mfaCodeProvider?: (mfaSerial: string) => Promise<string>;
}

/**
 * The endpoint to use, or undefined for the SDK's regional default. Throws
 * `ERR_AWS_INSECURE_ENDPOINT` for plain http to a non-loopback host (unless allowed), and
 * `ERR_AWS_API` for a URL that does not parse or is not http(s).
 */
export function resolveSsmEndpoint(settings: AwsSettings): string | undefined {
  const env = settings.env ?? process.env;
  const raw = settings.endpoint ?? env['AWS_ENDPOINT_URL_SSM'] ?? undefined;
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AwsError('ERR_AWS_API', `SSM endpoint is not a valid URL: ${raw}`);
  }
  if (url.protocol === 'https:') return raw;
  if (url.protocol !== 'http:')
    throw new AwsError('ERR_AWS_API', `SSM endpoint must be https:// (got ${url.protocol}//)`);
  if (isLoopbackName(url.hostname) || settings.allowInsecureEndpoint === true) return raw;
  throw new AwsError(
    'ERR_AWS_INSECURE_ENDPOINT',
    `refusing plain http:// SSM endpoint ${url.host}: requests and session tokens would travel unencrypted (use https://, or http only on loopback)`,
    { details: { endpoint: url.host } },
  );
}
