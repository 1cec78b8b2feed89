/**
 * Credentials that are re-read before every signing.
 *
 * The SDK memoizes a credentials provider and, if the identity has no `expiration`, keeps it
 * forever. A tunnel lives for hours while SSO and assumed-role keys expire, so we hand the SDK
 * a wrapper whose identities are marked already-due: the SDK calls the wrapper for each request,
 * and the wrapper asks the underlying provider (itself memoized until close to its real
 * expiry, so this is cheap). After an ExpiredToken error the next call forces a refresh.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { labelCredentialErrors } from './identity.js';
import type { AwsCredentialIdentityProvider, AwsCredentials, AwsSettings } from './settings.js';

export interface RefreshingCredentials {
  provider: AwsCredentialIdentityProvider;
  /** The next request re-reads credentials with `forceRefresh` (after ExpiredToken). */
  invalidate(): void;
}

/** The provider from the settings, or the default Node chain (env, profile, SSO, IMDS…). */
export function baseCredentialProvider(settings: AwsSettings): AwsCredentialIdentityProvider {
  if (settings.credentials !== undefined) return settings.credentials;
  const chain = fromNodeProviderChain({
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    ...(settings.mfaCodeProvider === undefined ? {} : { mfaCodeProvider: settings.mfaCodeProvider }),
  });
  // STS/SSO refusals while resolving credentials are labelled as such (identity.ts).
  return labelCredentialErrors((options) => chain(options));
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
