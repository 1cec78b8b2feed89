/**
 * Endpoints of the services besides SSM that `tunnel` calls (RDS, ElastiCache, ECS), with the
 * same rules as `settings.ts`: `AWS_ENDPOINT_URL_<SERVICE>` when set (the SDK's standard
 * service-specific override, read from the injected environment), otherwise the SSM endpoint when
 * that is on loopback (the embedded emulator serves every API on one port), otherwise the SDK's
 * regional default. Plain http is refused unless the host is loopback.
 */
import { isLoopbackName } from '../loopback.js';
import { AwsError } from '../errors.js';
import { resolveSsmEndpoint, type AwsSettings } from './settings.js';

/** The `AWS_ENDPOINT_URL_<ID>` suffixes of the services used here. */
export type ServiceId = 'RDS' | 'ELASTICACHE' | 'ECS';

export function resolveServiceEndpoint(settings: AwsSettings, service: ServiceId): string | undefined {
  const env = settings.env ?? process.env;
  const raw = env[`AWS_ENDPOINT_URL_${service}`];
  if (raw !== undefined && raw !== '') {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AwsError('ERR_AWS_API', `${service} endpoint is not a valid URL: ${raw}`);
    }
    if (url.protocol === 'https:') return raw;
    if (url.protocol !== 'http:')
      throw new AwsError('ERR_AWS_API', `${service} endpoint must be https:// (got ${url.protocol}//)`);
    if (isLoopbackName(url.hostname) || settings.allowInsecureEndpoint === true) return raw;
    throw new AwsError(
      'ERR_AWS_INSECURE_ENDPOINT',
      `refusing plain http:// ${service} endpoint ${url.host}: signed requests would travel unencrypted (use https://, or http only on loopback)`,
      { details: { endpoint: url.host } },
    );
  }
  const ssm = resolveSsmEndpoint(settings);
  if (ssm !== undefined && isLoopbackName(new URL(ssm).hostname)) return ssm;
  return undefined;
}

/** Client options shared by every SDK client built from `AwsSettings`. */
export function clientBase(
  settings: AwsSettings,
  endpoint: string | undefined,
): { region?: string; endpoint?: string; profile?: string; maxAttempts: number } {
  return {
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    maxAttempts: settings.maxAttempts ?? 3,
  };
}
