/**
 * Clear identity and region errors (issue #14): an unknown profile names the AWS config files
 * that were read; a region-dependent failure says which region was used and where it came from;
 * a failure of STS (assume-role, web identity) while resolving credentials is labelled STS, not
 * blamed on the SSM call that needed the credentials.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { AwsError } from '../errors.js';
import type { AwsSettings } from './settings.js';

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The shared config and credentials files the SDK reads for this environment. */
export function sharedConfigPaths(env: Env): { config: string; credentials: string } {
  const home = nonEmpty(env['HOME']) ?? homedir();
  return {
    config: nonEmpty(env['AWS_CONFIG_FILE']) ?? join(home, '.aws', 'config'),
    credentials: nonEmpty(env['AWS_SHARED_CREDENTIALS_FILE']) ?? join(home, '.aws', 'credentials'),
  };
}

/** Throws ERR_AWS_UNKNOWN_PROFILE when `profile` is in neither shared file. */
export async function checkProfileExists(profile: string, env: Env, source?: string): Promise<void> {
  const paths = sharedConfigPaths(env);
  const files = await loadSharedConfigFiles({
    configFilepath: paths.config,
    filepath: paths.credentials,
    ignoreCache: true,
  }).catch(() => ({ configFile: {}, credentialsFile: {} }));
  if (Object.hasOwn(files.configFile, profile) || Object.hasOwn(files.credentialsFile, profile)) return;
  const read = [paths.config, paths.credentials].map((f) => (existsSync(f) ? f : `${f} (missing)`));
  const known = [...new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)])].sort();
  throw new AwsError(
    'ERR_AWS_UNKNOWN_PROFILE',
    `AWS profile "${profile}"${source === undefined ? '' : ` (from ${source})`} is not in the AWS config files read: ${read.join(', ')}` +
      (known.length === 0 ? '' : `; profiles there: ${known.slice(0, 20).join(', ')}`),
    { details: { profile, config: paths.config, credentials: paths.credentials } },
  );
}

/** Where the SDK takes the region from when `settings.region` is not set. */
export function regionSource(settings: AwsSettings): string {
  if (settings.region !== undefined) return settings.regionSource ?? 'the tunnel settings';
  const env: Env = settings.env ?? process.env;
  if (nonEmpty(env['AWS_REGION']) !== undefined) return '$AWS_REGION';
  if (nonEmpty(env['AWS_DEFAULT_REGION']) !== undefined) return '$AWS_DEFAULT_REGION';
  const profile = settings.profile ?? nonEmpty(env['AWS_PROFILE']) ?? 'default';
  return `the "${profile}" profile in ${sharedConfigPaths(env).config}`;
}

/** AWS error codes whose cause is often a call to the wrong region. */
const REGION_SENSITIVE: ReadonlySet<string> = new Set([
  'InvalidTarget',
  'InvalidInstanceId',
  'TargetNotConnected',
  'DoesNotExistException',
  'InvalidResourceId',
]);

/** Append "region R, from SOURCE" to errors where the region is the likely cause. */
export function withRegionContext(err: AwsError, region: string | undefined, source: string): AwsError {
  const awsCode = typeof err.details['awsCode'] === 'string' ? err.details['awsCode'] : '';
  const scoped = /scoped to a valid region|region/i.test(err.message) && err.code === 'ERR_AWS_CREDENTIALS';
  if (!REGION_SENSITIVE.has(awsCode) && !scoped) return err;
  const where = `region ${region ?? '(unknown)'}, from ${source}`;
  return new AwsError(err.code, `${err.message} [${where}; is the target in another region? use --region]`, {
    cause: err.cause ?? err,
    details: { ...err.details, region: region ?? null, regionSource: source },
  });
}

/**
 * A credentials provider whose failures say where they came from: an error with an HTTP status
 * while resolving credentials is an answer from STS (AssumeRole, AssumeRoleWithWebIdentity) or
 * the SSO portal, not from SSM.
 */
export function labelCredentialErrors<T>(provider: (o?: { forceRefresh?: boolean }) => Promise<T>) {
  return async (o?: { forceRefresh?: boolean }): Promise<T> => {
    try {
      return await provider(o);
    } catch (e) {
      throw labelIdentityError(e);
    }
  };
}

function prop(e: object, key: string): unknown {
  return (e as Record<string, unknown>)[key];
}

export function labelIdentityError(e: unknown): unknown {
  if (e instanceof AwsError || typeof e !== 'object' || e === null) return e;
  const meta = prop(e, '$metadata');
  const status =
    typeof meta === 'object' && meta !== null && typeof prop(meta, 'httpStatusCode') === 'number'
      ? (prop(meta, 'httpStatusCode') as number)
      : undefined;
  const name = typeof prop(e, 'name') === 'string' ? (prop(e, 'name') as string) : 'Error';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown object without a message: String() is what there is
  const message = typeof prop(e, 'message') === 'string' ? (prop(e, 'message') as string) : String(e);
  const stack = typeof prop(e, 'stack') === 'string' ? (prop(e, 'stack') as string) : '';
  const service = /client-sso|SSOServiceException|sso-oidc/i.test(`${name} ${stack}`) ? 'SSO' : 'STS';
  if (status === undefined) return e;
  const code = name.startsWith('ExpiredToken') ? 'ERR_AWS_EXPIRED_TOKEN' : 'ERR_AWS_CREDENTIALS';
  return new AwsError(code, `${service} refused the credentials request (${name}, HTTP ${status}): ${message}`, {
    cause: e,
    details: { awsCode: name, service, httpStatus: status },
  });
}
