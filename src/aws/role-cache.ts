/**
 * MFA once (issue #15): credentials of a role assumed with an MFA code are kept until they
 * expire in the cache the AWS CLI uses for assumed roles, `~/.aws/cli/cache/<key>.json` (0600),
 * so the next `tunnel` (or `aws`) run within the hour asks for nothing.
 *
 * Key (the AWS CLI's rule): sha1 hex of the AssumeRole arguments that do not change between
 * runs (RoleArn, SerialNumber, and DurationSeconds / ExternalId when configured; not the
 * generated RoleSessionName, not the one-time TokenCode), serialized as Python's
 * `json.dumps(args, sort_keys=True)`. Content: the AssumeRole response shape,
 * `{"Credentials": {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}}`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProfileSection } from './shared-config.js';
import type { AwsCredentialIdentityProvider, AwsCredentials } from './settings.js';
import { isoSeconds, writePrivateFile } from './sso-cache.js';

/** Cached credentials this close to expiry are not used (the AWS CLI refreshes 15 min early; a tunnel needs less). */
const EXPIRY_MARGIN_MS = 5 * 60_000;

export function cliCacheDir(home: string): string {
  return join(home, '.aws', 'cli', 'cache');
}

/** `json.dumps(obj, sort_keys=True)` for a flat object of strings and integers. */
function pythonJson(obj: Record<string, string | number>): string {
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(obj[k])}`).join(', ')}}`;
}

/** The cache key for a profile that assumes a role with MFA; undefined for any other profile. */
export function mfaRoleCacheKey(profile: ProfileSection): string | undefined {
  const roleArn = profile['role_arn'];
  const serial = profile['mfa_serial'];
  if (roleArn === undefined || roleArn === '' || serial === undefined || serial === '') return undefined;
  const args: Record<string, string | number> = { RoleArn: roleArn, SerialNumber: serial };
  const duration = profile['duration_seconds'];
  if (duration !== undefined && /^\d+$/.test(duration)) args['DurationSeconds'] = Number(duration);
  const externalId = profile['external_id'];
  if (externalId !== undefined && externalId !== '') args['ExternalId'] = externalId;
  return createHash('sha1').update(pythonJson(args)).digest('hex');
}

function parseExpiration(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  // The AWS CLI has written `…Z`, `…+00:00` and `…UTC` over the years.
  const ms = Date.parse(v.replace(/UTC$/, 'Z'));
  return Number.isNaN(ms) ? undefined : ms;
}

export async function readCachedRole(home: string, key: string, nowMs: number): Promise<AwsCredentials | undefined> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(join(cliCacheDir(home), `${key}.json`), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const c = (v as Record<string, unknown>)['Credentials'];
  if (typeof c !== 'object' || c === null) return undefined;
  const r = c as Record<string, unknown>;
  const exp = parseExpiration(r['Expiration']);
  if (
    typeof r['AccessKeyId'] !== 'string' ||
    typeof r['SecretAccessKey'] !== 'string' ||
    typeof r['SessionToken'] !== 'string' ||
    exp === undefined ||
    exp - nowMs <= EXPIRY_MARGIN_MS
  )
    return undefined;
  return {
    accessKeyId: r['AccessKeyId'],
    secretAccessKey: r['SecretAccessKey'],
    sessionToken: r['SessionToken'],
    expiration: new Date(exp),
  };
}

export async function writeCachedRole(home: string, key: string, c: AwsCredentials): Promise<void> {
  if (c.sessionToken === undefined || c.expiration === undefined) return;
  const body = {
    Credentials: {
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      SessionToken: c.sessionToken,
      Expiration: isoSeconds(c.expiration.getTime()),
    },
  };
  await writePrivateFile(join(cliCacheDir(home), `${key}.json`), cliCacheDir(home), `${JSON.stringify(body)}\n`);
}

/**
 * Wrap a profile's provider: serve the cached role credentials while they last (no MFA prompt),
 * and cache what the provider returns. `forceRefresh` (after ExpiredToken) skips the cache.
 */
export function withMfaRoleCache(
  profile: () => Promise<ProfileSection | undefined>,
  home: string,
  inner: AwsCredentialIdentityProvider,
  now: () => number = Date.now,
): AwsCredentialIdentityProvider {
  let last: AwsCredentials | undefined;
  return async (options) => {
    const section = await profile();
    const key = section === undefined ? undefined : mfaRoleCacheKey(section);
    if (key === undefined) return inner(options);
    const fresh = (c: AwsCredentials | undefined): c is AwsCredentials =>
      c?.expiration !== undefined && c.expiration.getTime() - now() > EXPIRY_MARGIN_MS;
    if (options?.forceRefresh !== true) {
      if (fresh(last)) return last;
      const cached = await readCachedRole(home, key, now());
      if (cached !== undefined) return (last = cached);
    }
    const c = await inner(options);
    last = c;
    // A cache we cannot write costs a prompt next time, nothing more.
    await writeCachedRole(home, key, c).catch(() => undefined);
    return c;
  };
}
