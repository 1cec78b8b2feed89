/**
 * Credentials that are re-read before every signing.
 *
 * The SDK memoizes a credentials provider and, if the identity has no `expiration`, keeps it
 * forever. A tunnel lives for hours while SSO and assumed-role keys expire, so we hand the SDK
 * a wrapper whose identities are marked already-due: the SDK calls the wrapper for each request,
 * and the wrapper asks the underlying provider (itself memoized until close to its real
 * expiry, so this is cheap). After an ExpiredToken error the next call forces a refresh.
 */
import { homedir } from 'node:os';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { labelCredentialErrors } from './identity.js';
import { AwsError } from '../errors.js';
import { withMfaRoleCache } from './role-cache.js';
import { loginCommand, profileNameFor, readProfile, ssoProfile } from './shared-config.js';
import type { AwsCredentialIdentityProvider, AwsCredentials, AwsSettings } from './settings.js';

export interface RefreshingCredentials {
  provider: AwsCredentialIdentityProvider;
  /** The next request re-reads credentials with `forceRefresh` (after ExpiredToken). */
  invalidate(): void;
}

/**
 * The provider from the settings, or the default Node chain (env, profile, SSO, IMDS…). For a
 * named profile two things are added (issue #15): role credentials obtained with an MFA code are
 * cached in the AWS CLI's cache (role-cache.ts), and an Identity Center sign-in that is missing,
 * expired or refused becomes `ERR_AWS_LOGIN_REQUIRED` naming the exact `tunnel login` to run.
 */
export function baseCredentialProvider(settings: AwsSettings): AwsCredentialIdentityProvider {
  if (settings.credentials !== undefined) return settings.credentials;
  const chain = fromNodeProviderChain({
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    ...(settings.mfaCodeProvider === undefined ? {} : { mfaCodeProvider: settings.mfaCodeProvider }),
  });
  const plain: AwsCredentialIdentityProvider = (options) => chain(options);
  // Identity Center failures name `tunnel login`; other STS/SSO refusals are labelled as such
  // (identity.ts), an AwsError from the inner wrapper passing through unchanged.
  if (settings.profile === undefined)
    return labelCredentialErrors(withLoginHint(profileNameFor(undefined, settings.env ?? process.env), plain));
  const name = settings.profile;
  const home = settings.env?.['HOME'] ?? homedir();
  return labelCredentialErrors(
    withLoginHint(
      name,
      withMfaRoleCache(() => readProfile(name), home, plain),
    ),
  );
}

const NETWORK_TEXT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket hang up|timed? ?out/i;

/** Identity Center failures of a provider → `ERR_AWS_LOGIN_REQUIRED` with the command to run. */
export function withLoginHint(profile: string, inner: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  return async (options) => {
    try {
      return await inner(options);
    } catch (err) {
      if (err instanceof AwsError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      // An unreachable portal is a network problem, not a sign-in problem.
      if (NETWORK_TEXT.test(message)) throw err;
      const sso = await ssoProfile(profile).catch(() => undefined);
      if (sso === undefined) throw err;
      const command = loginCommand(profile);
      throw new AwsError(
        'ERR_AWS_LOGIN_REQUIRED',
        `the IAM Identity Center sign-in for profile ${profile} is missing, expired or was refused; run \`${command}\``,
        { cause: err, details: { profile, command } },
      );
    }
  };
}

export function refreshingCredentials(base: AwsCredentialIdentityProvider): RefreshingCredentials {
  let force = false;
  const provider: AwsCredentialIdentityProvider = async (options) => {
    const forceRefresh = force || options?.forceRefresh === true;
    force = false;
    const c: AwsCredentials = await base(forceRefresh ? { forceRefresh: true } : undefined);
    // Epoch 0 = "already due": the SDK's memoizer will come back to us before the next signing.
    return { ...c, expiration: new Date(0) };
  };
  return {
    provider,
    invalidate() {
      force = true;
    },
  };
}
