/**
 * RDS IAM database authentication tokens (issue #19), made by the maintained signer
 * (`@aws-sdk/rds-signer`): a SigV4 query-presigned `rds-db:connect` URL for host:port and user,
 * without its scheme, valid 15 minutes. The token is a secret: callers print it only where the
 * user asked for it (stdout of `tunnel token`, the environment of `tunnel run`), never in logs.
 */
import { Signer } from '@aws-sdk/rds-signer';
import { AwsError } from '../errors.js';
import { baseCredentialProvider } from './credentials.js';
import { mapAwsError } from './error-map.js';
import type { AwsSettings } from './settings.js';

export interface RdsTokenInput {
  /** The database's real endpoint name (what the client will put in TLS SNI and verify). */
  hostname: string;
  port: number;
  user: string;
}

export async function rdsAuthToken(settings: AwsSettings, input: RdsTokenInput): Promise<string> {
  const region = settings.region ?? (settings.env ?? process.env)['AWS_REGION'];
  if (region === undefined || region === '')
    throw new AwsError(
      'ERR_AWS_INVALID_PARAMETERS',
      'an RDS auth token is signed for a region: set defaults.region, --region or AWS_REGION',
    );
  const signer = new Signer({
    hostname: input.hostname,
    port: input.port,
    username: input.user,
    region,
    credentials: baseCredentialProvider(settings),
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
  });
  try {
    return await signer.getAuthToken();
  } catch (err) {
    throw mapAwsError(err, 'rds-db:connect token');
  }
}
