/**
 * `tunnel login` / `tunnel logout` for IAM Identity Center (issue #15), with the maintained SDK
 * clients: SSO OIDC RegisterClient → StartDeviceAuthorization → CreateToken (device-code grant,
 * RFC 8628), or CreateToken with the refresh-token grant when the cache holds a usable one.
 * The token lands in the cache the AWS CLI and SDKs read (sso-cache.ts), so one sign-in serves
 * `aws`, the SDKs and `tunnel` alike.
 *
 * Endpoints: `AWS_ENDPOINT_URL_SSO_OIDC` / `AWS_ENDPOINT_URL_SSO` when set (https, or http on
 * loopback only: these calls carry bearer tokens), else the SDK's regional default for the
 * profile's `sso_region`.
 */
import {
  SSOOIDCClient,
  CreateTokenCommand,
  RegisterClientCommand,
  StartDeviceAuthorizationCommand,
} from '@aws-sdk/client-sso-oidc';
import { LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { AwsError } from '../errors.js';
import { isLoopbackName } from '../loopback.js';
import type { SsoProfile } from './shared-config.js';
import {
  isoSeconds,
  readSsoToken,
  removeSsoToken,
  ssoCachePath,
  writeSsoToken,
  type SsoTokenFile,
} from './sso-cache.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.5: after slow_down the interval grows by 5 s for good. */
const SLOW_DOWN_STEP_S = 5;

export interface DevicePrompt {
  verificationUri: string;
  verificationUriComplete: string | undefined;
  userCode: string;
  expiresInSeconds: number;
}

export interface LoginHooks {
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Show the URL and code (and maybe open a browser). */
  onPrompt(p: DevicePrompt): void;
  /** Each unsuccessful poll, for progress output. */
  onPoll?(outcome: 'authorization_pending' | 'slow_down'): void;
  sleep(ms: number): Promise<void>;
  /** Wall clock, epoch ms. */
  now(): number;
  /** Try the cached refresh token before a new device sign-in; default true. */
  useRefresh?: boolean;
}

export interface LoginResult {
  path: string;
  expiresAt: string;
  method: 'refresh' | 'device';
}

/** An override endpoint from the environment, refusing plain http off loopback. */
export function identityEndpoint(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
): string | undefined {
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AwsError('ERR_AWS_API', `${variable} is not a valid URL: ${raw}`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackName(url.hostname))) return raw;
  throw new AwsError(
    'ERR_AWS_INSECURE_ENDPOINT',
    `refusing ${variable}=${url.protocol}//${url.host}: sign-in tokens would travel unencrypted (use https://, or http only on loopback)`,
    { details: { endpoint: url.host } },
  );
}

function errName(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { name?: unknown }).name === 'string'
    ? (e as { name: string }).name
    : 'Error';
}

function failed(sso: SsoProfile, message: string, cause?: unknown): AwsError {
  return new AwsError('ERR_AWS_LOGIN_FAILED', `sign-in for profile ${sso.profile} failed: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { profile: sso.profile, ...(cause === undefined ? {} : { awsCode: errName(cause) }) },
  });
}

function oidcClient(sso: SsoProfile, env: LoginHooks['env']): SSOOIDCClient {
  const endpoint = identityEndpoint(env, 'AWS_ENDPOINT_URL_SSO_OIDC');
  return new SSOOIDCClient({ region: sso.ssoRegion, ...(endpoint === undefined ? {} : { endpoint }), maxAttempts: 2 });
}

async function tryRefresh(
  client: SSOOIDCClient,
  sso: SsoProfile,
  cached: SsoTokenFile | undefined,
  hooks: LoginHooks,
): Promise<LoginResult | undefined> {
  if (cached?.refreshToken === undefined || cached.clientId === undefined || cached.clientSecret === undefined)
    return undefined;
  if (cached.registrationExpiresAt !== undefined && Date.parse(cached.registrationExpiresAt) <= hooks.now())
    return undefined;
  try {
    const out = await client.send(
      new CreateTokenCommand({
        clientId: cached.clientId,
        clientSecret: cached.clientSecret,
        grantType: 'refresh_token',
        refreshToken: cached.refreshToken,
      }),
    );
    if (out.accessToken === undefined || out.expiresIn === undefined) return undefined;
    const expiresAt = isoSeconds(hooks.now() + out.expiresIn * 1000);
    const path = await writeSsoToken(hooks.home, sso.cacheKey, {
      ...cached,
      startUrl: sso.startUrl,
      region: sso.ssoRegion,
      accessToken: out.accessToken,
      expiresAt,
      ...(out.refreshToken === undefined ? {} : { refreshToken: out.refreshToken }),
    });
    return { path, expiresAt, method: 'refresh' };
  } catch {
    // A spent or revoked refresh token: fall back to a fresh device sign-in.
    return undefined;
  }
}

/** Sign a profile in; resolves once the token is in the cache. */
export async function ssoLogin(sso: SsoProfile, hooks: LoginHooks): Promise<LoginResult> {
  const client = oidcClient(sso, hooks.env);
  try {
    if (hooks.useRefresh !== false) {
      const refreshed = await tryRefresh(client, sso, await readSsoToken(hooks.home, sso.cacheKey), hooks);
      if (refreshed !== undefined) return refreshed;
    }
    let reg;
    try {
      reg = await client.send(
        new RegisterClientCommand({
          clientName: 'tunnel',
          clientType: 'public',
          ...(sso.scopes.length === 0 ? {} : { scopes: sso.scopes }),
          ...(sso.kind === 'sso-session'
            ? { grantTypes: [DEVICE_GRANT, 'refresh_token'], issuerUrl: sso.startUrl }
            : {}),
        }),
      );
    } catch (e) {
      throw failed(sso, `RegisterClient: ${(e as Error).message}`, e);
    }
    const clientId = reg.clientId ?? '';
    const clientSecret = reg.clientSecret ?? '';
    let auth;
    try {
      auth = await client.send(new StartDeviceAuthorizationCommand({ clientId, clientSecret, startUrl: sso.startUrl }));
    } catch (e) {
      throw failed(sso, `StartDeviceAuthorization: ${(e as Error).message}`, e);
    }
    const deviceCode = auth.deviceCode ?? '';
    const expiresIn = auth.expiresIn ?? 600;
    hooks.onPrompt({
      verificationUri: auth.verificationUri ?? '',
      verificationUriComplete: auth.verificationUriComplete,
      userCode: auth.userCode ?? '',
      expiresInSeconds: expiresIn,
    });
    let intervalS = Math.max(1, auth.interval ?? 5);
    const deadline = hooks.now() + expiresIn * 1000;
    while (hooks.now() < deadline) {
      await hooks.sleep(intervalS * 1000);
      try {
        const out = await client.send(
          new CreateTokenCommand({ clientId, clientSecret, grantType: DEVICE_GRANT, deviceCode }),
        );
        const expiresAt = isoSeconds(hooks.now() + (out.expiresIn ?? 3600) * 1000);
        const token: SsoTokenFile = {
          startUrl: sso.startUrl,
          region: sso.ssoRegion,
          accessToken: out.accessToken ?? '',
          expiresAt,
          clientId,
          clientSecret,
          ...(reg.clientSecretExpiresAt === undefined
            ? {}
            : { registrationExpiresAt: isoSeconds(reg.clientSecretExpiresAt * 1000) }),
          ...(out.refreshToken === undefined ? {} : { refreshToken: out.refreshToken }),
        };
        const path = await writeSsoToken(hooks.home, sso.cacheKey, token);
        return { path, expiresAt, method: 'device' };
      } catch (e) {
        const name = errName(e);
        if (name === 'AuthorizationPendingException') {
          hooks.onPoll?.('authorization_pending');
          continue;
        }
        if (name === 'SlowDownException') {
          intervalS += SLOW_DOWN_STEP_S;
          hooks.onPoll?.('slow_down');
          continue;
        }
        if (name === 'ExpiredTokenException')
          throw failed(sso, 'the code expired before it was approved; run the command again', e);
        if (name === 'AccessDeniedException') throw failed(sso, 'the sign-in was denied', e);
        throw failed(sso, `CreateToken: ${(e as Error).message}`, e);
      }
    }
    throw failed(sso, 'the code expired before it was approved; run the command again');
  } finally {
    client.destroy();
  }
}

/** Sign a profile out: sso:Logout for the cached token (best effort), then remove the cache file. */
export async function ssoLogout(
  sso: SsoProfile,
  hooks: Pick<LoginHooks, 'home' | 'env' | 'now'>,
): Promise<{ path: string; removed: boolean }> {
  const cached = await readSsoToken(hooks.home, sso.cacheKey);
  if (cached !== undefined && Date.parse(cached.expiresAt) > hooks.now()) {
    const endpoint = identityEndpoint(hooks.env, 'AWS_ENDPOINT_URL_SSO');
    const client = new SSOClient({
      region: sso.ssoRegion,
      ...(endpoint === undefined ? {} : { endpoint }),
      maxAttempts: 1,
    });
    try {
      await client.send(new LogoutCommand({ accessToken: cached.accessToken }));
    } catch {
      // The local sign-in ends anyway; the token expires on its own at the service.
    } finally {
      client.destroy();
    }
  }
  const removed = await removeSsoToken(hooks.home, sso.cacheKey);
  return { path: ssoCachePath(hooks.home, sso.cacheKey), removed };
}
