/**
 * What `tunnel doctor` reports about credentials without printing any of them: where they came
 * from (the SDK marks every identity with the provider that produced it), when they expire, and,
 * for SSO profiles, when the cached SSO token expires. Nothing here returns a key or token.
 */
import { readFile } from 'node:fs/promises';
import { getSSOTokenFilepath, loadSharedConfigFiles } from '@smithy/core/config';
import { baseCredentialProvider } from './credentials.js';
import { mapAwsError } from './error-map.js';
import type { AwsSettings } from './settings.js';

export interface CredentialInfo {
  /** Human names of the providers that produced the identity, e.g. `SSO profile`. */
  sources: string[];
  /** When the credentials stop working (temporary credentials only). */
  expiration?: Date;
  /** Temporary credentials (a session token is present). */
  temporary: boolean;
}

/** The SDK's credential feature ids (`$source` keys) in words. */
const SOURCE_NAMES: Record<string, string> = {
  CREDENTIALS_CODE: 'credentials given in code',
  CREDENTIALS_ENV_VARS: 'environment variables (AWS_ACCESS_KEY_ID)',
  CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN: 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)',
  CREDENTIALS_STS_ASSUME_ROLE: 'assumed role (STS AssumeRole)',
  CREDENTIALS_STS_ASSUME_ROLE_WEB_ID: 'assumed role (STS AssumeRoleWithWebIdentity)',
  CREDENTIALS_PROFILE: 'shared config profile',
  CREDENTIALS_PROFILE_SOURCE_PROFILE: 'profile source_profile',
  CREDENTIALS_PROFILE_NAMED_PROVIDER: 'profile credential_source',
  CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN: 'profile web_identity_token_file',
  CREDENTIALS_PROFILE_SSO: 'SSO profile (IAM Identity Center)',
  CREDENTIALS_SSO: 'SSO (IAM Identity Center)',
  CREDENTIALS_PROFILE_SSO_LEGACY: 'SSO profile (legacy sso_start_url)',
  CREDENTIALS_SSO_LEGACY: 'SSO (legacy)',
  CREDENTIALS_PROFILE_PROCESS: 'profile credential_process',
  CREDENTIALS_PROCESS: 'credential_process',
  CREDENTIALS_HTTP: 'container credentials endpoint',
  CREDENTIALS_IMDS: 'EC2 instance metadata (instance role)',
  CREDENTIALS_PROFILE_LOGIN: 'profile login session',
  CREDENTIALS_LOGIN: 'login session',
};

/** Resolve the credentials once and describe them. Throws a mapped `AwsError` when there are none. */
export async function inspectCredentials(settings: AwsSettings): Promise<CredentialInfo> {
  let c;
  try {
    c = await baseCredentialProvider(settings)();
  } catch (err) {
    throw mapAwsError(err, 'credentials');
  }
  const marks = (c as { $source?: Record<string, unknown> }).$source ?? {};
  const sources = Object.keys(marks).map((k) => SOURCE_NAMES[k] ?? k);
  return {
    sources,
    temporary: c.sessionToken !== undefined && c.sessionToken !== '',
    ...(c.expiration === undefined ? {} : { expiration: c.expiration }),
  };
}

export interface ProfileInfo {
  name: string;
  /** The profile section exists in the shared config or credentials file. */
  found: boolean;
  region?: string;
  /** `sso_session` name, or the legacy `sso_start_url`: the key of the SSO token cache. */
  ssoCacheKey?: string;
  roleArn?: string;
}

/** The profile in effect (`settings.profile`, `AWS_PROFILE`, else `default`) as the shared files define it. */
export async function profileInfo(settings: AwsSettings): Promise<ProfileInfo> {
  const env = settings.env ?? process.env;
  const name = settings.profile ?? env['AWS_PROFILE'] ?? 'default';
  const files = await loadSharedConfigFiles({
    ...(env['AWS_CONFIG_FILE'] === undefined ? {} : { configFilepath: env['AWS_CONFIG_FILE'] }),
    ...(env['AWS_SHARED_CREDENTIALS_FILE'] === undefined ? {} : { filepath: env['AWS_SHARED_CREDENTIALS_FILE'] }),
  });
  const conf = files.configFile[name];
  const cred = files.credentialsFile[name];
  const out: ProfileInfo = { name, found: conf !== undefined || cred !== undefined };
  const region = conf?.['region'];
  if (region !== undefined) out.region = region;
  const key = conf?.['sso_session'] ?? conf?.['sso_start_url'];
  if (key !== undefined) out.ssoCacheKey = key;
  const role = conf?.['role_arn'];
  if (role !== undefined) out.roleArn = role;
  return out;
}

export type SsoTokenState =
  { state: 'valid' | 'expired'; expiresAt: Date } | { state: 'missing' | 'unreadable'; path: string };

/** The cached SSO token for `cacheKey` (what `aws sso login` writes): its expiry, never its value. */
export async function ssoTokenState(cacheKey: string): Promise<SsoTokenState> {
  const path = getSSOTokenFilepath(cacheKey);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { state: 'missing', path };
  }
  try {
    const parsed = JSON.parse(text) as { expiresAt?: unknown };
    const at = typeof parsed.expiresAt === 'string' ? new Date(parsed.expiresAt) : undefined;
    if (at === undefined || Number.isNaN(at.getTime())) return { state: 'unreadable', path };
    return { state: at.getTime() <= Date.now() ? 'expired' : 'valid', expiresAt: at };
  } catch {
    return { state: 'unreadable', path };
  }
}
