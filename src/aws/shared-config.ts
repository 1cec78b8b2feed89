/**
 * What `tunnel` reads from the shared AWS config (`~/.aws/config`, `AWS_CONFIG_FILE`) itself,
 * through the SDK's own parser: which profiles sign in through IAM Identity Center and with
 * which start URL, and which assume a role with an MFA device (issue #15).
 *
 * Token cache key (the rule the AWS CLI and every SDK share): `sso_session` profiles are
 * cached under sha1(session name); legacy profiles (`sso_start_url` on the profile) under
 * sha1(start URL).
 */
import { loadSsoSessionData, parseKnownFiles } from '@smithy/core/config';

export type ProfileSection = Record<string, string | undefined>;

/** The IAM Identity Center settings behind one profile. */
export interface SsoProfile {
  profile: string;
  /** `sso-session` (sso_session = NAME) or `legacy` (sso_start_url on the profile). */
  kind: 'sso-session' | 'legacy';
  sessionName?: string;
  startUrl: string;
  /** The region of the Identity Center instance (sso_region). */
  ssoRegion: string;
  /** Registration scopes (sso_registration_scopes; default sso:account:access for sessions). */
  scopes: string[];
  /** What the token cache file name is the sha1 of. */
  cacheKey: string;
}

/** The profile a command acts for: the flag, else AWS_PROFILE, else `default` (as the SDK). */
export function profileNameFor(
  explicit: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  const fromEnv = env['AWS_PROFILE'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'default';
}

/** One profile's section from the config/credentials files, or undefined when there is none. */
export async function readProfile(name: string): Promise<ProfileSection | undefined> {
  const profiles = await parseKnownFiles({ profile: name, ignoreCache: true });
  return profiles[name];
}

/** The Identity Center settings of a profile, or undefined when it does not use Identity Center. */
export async function ssoProfile(name: string): Promise<SsoProfile | undefined> {
  const p = await readProfile(name);
  if (p === undefined) return undefined;
  const sessionName = p['sso_session'];
  if (sessionName !== undefined && sessionName !== '') {
    const sessions = await loadSsoSessionData();
    const s = sessions[sessionName];
    const startUrl = s?.['sso_start_url'];
    const ssoRegion = s?.['sso_region'];
    if (startUrl === undefined || ssoRegion === undefined) return undefined;
    const scopes = (s?.['sso_registration_scopes'] ?? 'sso:account:access')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    return { profile: name, kind: 'sso-session', sessionName, startUrl, ssoRegion, scopes, cacheKey: sessionName };
  }
  const startUrl = p['sso_start_url'];
  const ssoRegion = p['sso_region'];
  if (startUrl === undefined || startUrl === '' || ssoRegion === undefined || ssoRegion === '') return undefined;
  return { profile: name, kind: 'legacy', startUrl, ssoRegion, scopes: [], cacheKey: startUrl };
}

/** The exact command that signs a profile in again, for messages. */
export function loginCommand(profile: string): string {
  return profile === 'default' ? 'tunnel login' : `tunnel login --profile ${profile}`;
}
