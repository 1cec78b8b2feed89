/**
 * Check 2, identity: which credentials (source, profile), whose they are (STS GetCallerIdentity:
 * ARN and account), and when they or the SSO token behind them expire. Prints no key or token.
 */
import { inspectCredentials, profileInfo, ssoTokenState, type CredentialInfo } from '../../aws/credential-info.js';
import { getCallerIdentity } from '../../aws/sts.js';
import { isTunnelError } from '../../errors.js';
import { adviceFor } from '../report.js';
import { errorText, fail, pass, warn, type Check, type Finding } from './types.js';

/** Temporary credentials closer than this to their expiry are a warning. */
export const EXPIRY_WARNING_MS = 15 * 60_000;

function minutes(ms: number): string {
  return ms >= 120 * 60_000 ? `${Math.round(ms / 3_600_000)} h` : `${Math.max(0, Math.round(ms / 60_000))} min`;
}

export const identityCheck: Check = {
  id: 'identity',
  scope: 'global',
  needs: [],
  timeoutMs: 15_000,
  timeoutFix:
    'check the network path to STS (sts.REGION.amazonaws.com) and the credential provider (SSO, credential_process)',
  async run(ctx) {
    const env = ctx.io.env;
    const fromEnv = ctx.aws.credentials !== undefined;
    const named = ctx.aws.profile ?? (fromEnv ? undefined : env['AWS_PROFILE']);
    const loginFix = `aws sso login${named === undefined ? '' : ` --profile ${named}`}`;
    const details: Record<string, unknown> = { profile: named ?? null };

    if (!fromEnv) {
      const profile = await profileInfo(ctx.aws);
      if (named !== undefined && !profile.found) {
        return fail(
          `profile ${named} is not defined in the shared AWS config or credentials file`,
          `define it: \`aws configure sso --profile ${named}\` (or \`aws configure --profile ${named}\`), or use another --profile`,
          details,
        );
      }
      if (profile.ssoCacheKey !== undefined) {
        const token = await ssoTokenState(profile.ssoCacheKey);
        details['ssoTokenState'] = token.state;
        if (token.state === 'expired') {
          details['ssoTokenExpiresAt'] = token.expiresAt.toISOString();
          return fail(
            `the SSO token of profile ${profile.name} (${profile.ssoCacheKey}) expired at ${token.expiresAt.toISOString()}`,
            `run \`${loginFix}\``,
            details,
          );
        }
        if (token.state !== 'valid')
          return fail(
            `no usable SSO token for profile ${profile.name} (${profile.ssoCacheKey}): ${token.state}`,
            `run \`${loginFix}\``,
            details,
          );
        details['ssoTokenExpiresAt'] = token.expiresAt.toISOString();
      }
    }

    let creds: CredentialInfo;
    try {
      creds = await inspectCredentials(ctx.aws);
    } catch (err) {
      return fail(
        `no usable credentials: ${errorText(err)}`,
        adviceFor(err, named) ?? 'set AWS credentials (environment, --profile, or `aws configure`)',
        details,
      );
    }
    let sources = creds.sources;
    let expiration = creds.expiration;
    if (fromEnv) {
      sources = [`environment variables (AWS_ACCESS_KEY_ID${creds.temporary ? ', AWS_SESSION_TOKEN' : ''})`];
      const exp = env['AWS_CREDENTIAL_EXPIRATION'];
      if (exp !== undefined && exp !== '' && !Number.isNaN(new Date(exp).getTime())) expiration = new Date(exp);
    }
    const source = `${sources.join(', ') || 'the SDK credential chain'}${named === undefined ? '' : `, profile ${named}`}`;
    details['source'] = source;
    details['temporary'] = creds.temporary;
    details['expiresAt'] = expiration?.toISOString() ?? null;
    const now = ctx.clock.wallNow();
    const refreshFix = fromEnv
      ? 'get fresh credentials and export them again (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)'
      : `refresh them (\`${loginFix}\` for SSO profiles, or re-run the credential process)`;
    if (expiration !== undefined && expiration.getTime() <= now) {
      return fail(`the credentials from ${source} expired at ${expiration.toISOString()}`, refreshFix, details);
    }

    let who;
    try {
      who = await getCallerIdentity({ ...ctx.aws, maxAttempts: 2 });
    } catch (err) {
      const code = isTunnelError(err) ? err.code : 'ERR_AWS_API';
      details['code'] = code;
      if (code === 'ERR_AWS_EXPIRED_TOKEN')
        return fail(`STS says the credentials from ${source} have expired: ${errorText(err)}`, refreshFix, details);
      const region = ctx.region ?? 'REGION';
      return fail(
        `STS GetCallerIdentity failed with credentials from ${source}: ${errorText(err)}`,
        code === 'ERR_AWS_ENDPOINT_UNREACHABLE'
          ? `allow HTTPS to sts.${region}.amazonaws.com; in a VPC without internet access create the interface endpoint com.amazonaws.${region}.sts (or set AWS_ENDPOINT_URL_STS)`
          : (adviceFor(err, named) ?? 'check the credentials and the network path to STS'),
        details,
      );
    }
    details['arn'] = who.arn;
    details['account'] = who.account;
    const base = `${who.arn} (account ${who.account}) from ${source}`;
    if (expiration !== undefined) {
      const left = expiration.getTime() - now;
      if (left < EXPIRY_WARNING_MS)
        return warn(`${base}; the credentials expire in ${minutes(left)}`, refreshFix, details);
      return pass(`${base}; temporary, expire in ${minutes(left)}`, details);
    }
    return pass(base, details) satisfies Finding;
  },
};
