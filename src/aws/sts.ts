/**
 * STS GetCallerIdentity: who the credentials belong to (`tunnel doctor`). Same conventions as the
 * SSM client: the settings' region, profile and credentials, and the endpoint rules of
 * `settings.ts`. Needs no permission (GetCallerIdentity is never denied by IAM policy).
 *
 * Endpoint: `AWS_ENDPOINT_URL_STS` when set; otherwise the SSM endpoint when that is on loopback
 * (the embedded emulator serves SSM, KMS and STS on one port); otherwise the SDK's regional default.
 */
import { isLoopbackName } from '../loopback.js';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AwsError } from '../errors.js';
import { baseCredentialProvider } from './credentials.js';
import { mapAwsError } from './error-map.js';
import { resolveSsmEndpoint, type AwsSettings } from './settings.js';

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** The STS endpoint to use, or undefined for the SDK's regional default. */
export function resolveStsEndpoint(settings: AwsSettings): string | undefined {
  const env = settings.env ?? process.env;
  const raw = env['AWS_ENDPOINT_URL_STS'];
  if (raw !== undefined && raw !== '') {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AwsError('ERR_AWS_API', `STS endpoint is not a valid URL: ${raw}`);
    }
    if (url.protocol === 'https:') return raw;
    if (url.protocol === 'http:' && (isLoopbackName(url.hostname) || settings.allowInsecureEndpoint === true))
      return raw;
    throw new AwsError(
      'ERR_AWS_INSECURE_ENDPOINT',
      `refusing STS endpoint ${raw}: use https:// (http only on loopback)`,
    );
  }
  const ssm = resolveSsmEndpoint(settings);
  if (ssm !== undefined && isLoopbackName(new URL(ssm).hostname)) return ssm;
  return undefined;
}

/** GetCallerIdentity with the settings' credentials; throws a mapped `AwsError`. */
export async function getCallerIdentity(settings: AwsSettings): Promise<CallerIdentity> {
  const endpoint = resolveStsEndpoint(settings);
  const client = new STSClient({
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    credentials: baseCredentialProvider(settings),
    maxAttempts: settings.maxAttempts ?? 3,
  });
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    return { arn: out.Arn ?? '', account: out.Account ?? '', userId: out.UserId ?? '' };
  } catch (err) {
    throw mapAwsError(err, 'GetCallerIdentity');
  } finally {
    client.destroy();
  }
}
