/**
 * The emulator's sign-in side (issue #15): IAM Identity Center's OIDC device flow, the portal's
 * role credentials, STS AssumeRole, and the temporary credentials they hand out.
 *
 * Everything here is state and rules; `identity-api.ts` is the HTTP side. Every issued secret is
 * random per start. Maps are bounded (oldest forgotten first), so a long-running
 * `tunnel emulator` stays small however many logins it sees.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../clock.js';

export interface IdentitySettings {
  /** Lifetime of OIDC access tokens (CreateToken's expiresIn); default 8 h, as Identity Center. */
  tokenLifetimeSeconds?: number;
  /** Lifetime of role credentials (GetRoleCredentials, AssumeRole); default 1 h. */
  credentialLifetimeSeconds?: number;
  /** How long a device code may be approved; default 600 s. */
  deviceCodeLifetimeSeconds?: number;
  /** The polling interval StartDeviceAuthorization asks for; default 1 s (AWS's value). */
  pollIntervalSeconds?: number;
  /**
   * The second CreateToken poll of every device code is answered `slow_down`, whatever its
   * timing: a deterministic way to see a client honour it (tests). Default false.
   */
  slowDownOnce?: boolean;
  /** Device codes count as approved as soon as they are issued (demo without a browser). */
  autoApprove?: boolean;
  /** Roles (ARN or role name, or `*`) whose AssumeRole requires an MFA code; default none. */
  mfaRoles?: string[];
  /** The one-time code the emulated MFA device accepts; default `123456`. */
  mfaCode?: string;
}

export interface ResolvedIdentitySettings {
  tokenLifetimeSeconds: number;
  credentialLifetimeSeconds: number;
  deviceCodeLifetimeSeconds: number;
  pollIntervalSeconds: number;
  slowDownOnce: boolean;
  autoApprove: boolean;
  mfaRoles: string[];
  mfaCode: string;
}

export function resolveIdentitySettings(s: IdentitySettings = {}): ResolvedIdentitySettings {
  return {
    tokenLifetimeSeconds: s.tokenLifetimeSeconds ?? 8 * 3600,
    credentialLifetimeSeconds: s.credentialLifetimeSeconds ?? 3600,
    deviceCodeLifetimeSeconds: s.deviceCodeLifetimeSeconds ?? 600,
    pollIntervalSeconds: s.pollIntervalSeconds ?? 1,
    slowDownOnce: s.slowDownOnce ?? false,
    autoApprove: s.autoApprove ?? false,
    mfaRoles: [...(s.mfaRoles ?? [])],
    mfaCode: s.mfaCode ?? '123456',
  };
}

/** Who signed an API request: the account its credentials belong to. */
export interface Caller {
  accountId: string;
  arn: string;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch ms. */
  expiresAt: number;
  accountId: string;
  arn: string;
}

interface Client {
  clientId: string;
  clientSecret: string;
  expiresAt: number;
}

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  clientId: string;
  startUrl: string;
  expiresAt: number;
  approved: boolean;
  polls: number;
}

interface AccessToken {
  expiresAt: number;
  clientId: string;
  startUrl: string;
}

/** Outcome of one CreateToken poll, as the OIDC service names them. */
export type TokenPoll =
  | { kind: 'token'; accessToken: string; refreshToken: string; expiresIn: number }
  | { kind: 'authorization_pending' | 'slow_down' | 'expired_token' | 'invalid_grant' | 'invalid_client' };

const MAX_ENTRIES = 10_000;
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

function bounded<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.set(key, value);
  if (map.size > MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
}

function token(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class IdentityStore {
  readonly settings: ResolvedIdentitySettings;
  readonly #clock: Clock;
  readonly #clients = new Map<string, Client>();
  readonly #devices = new Map<string, DeviceAuthorization>();
  readonly #accessTokens = new Map<string, AccessToken>();
  readonly #refreshTokens = new Map<string, { clientId: string; startUrl: string }>();
  readonly #credentials = new Map<string, IssuedCredentials>();

  constructor(settings: ResolvedIdentitySettings, clock: Clock) {
    this.settings = settings;
    this.#clock = clock;
  }

  #now(): number {
    return this.#clock.wallNow();
  }

  registerClient(): Client {
    const c: Client = {
      clientId: token(16),
      clientSecret: token(48),
      // Identity Center registrations last 90 days.
      expiresAt: this.#now() + 90 * 86_400_000,
    };
    bounded(this.#clients, c.clientId, c);
    return c;
  }

  #client(clientId: string, clientSecret: string): Client | undefined {
    const c = this.#clients.get(clientId);
    if (c === undefined || !sameSecret(c.clientSecret, clientSecret) || c.expiresAt <= this.#now()) return undefined;
    return c;
  }

  startDeviceAuthorization(clientId: string, clientSecret: string, startUrl: string): DeviceAuthorization | undefined {
    if (this.#client(clientId, clientSecret) === undefined) return undefined;
    let userCode: string;
    do {
      const b = randomBytes(8);
      const chars = [...b].map((x) => USER_CODE_ALPHABET[x % USER_CODE_ALPHABET.length]);
      userCode = `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
    } while ([...this.#devices.values()].some((d) => d.userCode === userCode));
    const d: DeviceAuthorization = {
      deviceCode: token(48),
      userCode,
      clientId,
      startUrl,
      expiresAt: this.#now() + this.settings.deviceCodeLifetimeSeconds * 1000,
      approved: this.settings.autoApprove,
      polls: 0,
    };
    bounded(this.#devices, d.deviceCode, d);
    return d;
  }

  /** The test hook: approve the pending device code with this user code (any pending one if omitted). */
  approve(userCode?: string): boolean {
    const want = userCode?.trim().toUpperCase();
    let done = false;
    for (const d of this.#devices.values()) {
      if (d.approved || d.expiresAt <= this.#now()) continue;
      if (want === undefined || d.userCode === want) {
        d.approved = true;
        done = true;
      }
    }
    return done;
  }

  /** Pending (not yet approved, not expired) device authorizations, oldest first. */
  pending(): DeviceAuthorization[] {
    return [...this.#devices.values()].filter((d) => !d.approved && d.expiresAt > this.#now());
  }

  #issueToken(clientId: string, startUrl: string): TokenPoll {
    const accessToken = token(96);
    const refreshToken = token(96);
    const expiresIn = this.settings.tokenLifetimeSeconds;
    bounded(this.#accessTokens, accessToken, { expiresAt: this.#now() + expiresIn * 1000, clientId, startUrl });
    bounded(this.#refreshTokens, refreshToken, { clientId, startUrl });
    return { kind: 'token', accessToken, refreshToken, expiresIn };
  }

  /** CreateToken with grant type device_code. */
  pollDevice(clientId: string, clientSecret: string, deviceCode: string): TokenPoll {
    if (this.#client(clientId, clientSecret) === undefined) return { kind: 'invalid_client' };
    const d = this.#devices.get(deviceCode);
    if (d === undefined || d.clientId !== clientId) return { kind: 'invalid_grant' };
    if (d.expiresAt <= this.#now()) return { kind: 'expired_token' };
    d.polls++;
    if (this.settings.slowDownOnce && d.polls === 2) return { kind: 'slow_down' };
    if (!d.approved) return { kind: 'authorization_pending' };
    // A device code is good for one token.
    this.#devices.delete(deviceCode);
    return this.#issueToken(clientId, d.startUrl);
  }

  /** CreateToken with grant type refresh_token: the old refresh token is spent. */
  refresh(clientId: string, clientSecret: string, refreshToken: string): TokenPoll {
    if (this.#client(clientId, clientSecret) === undefined) return { kind: 'invalid_client' };
    const r = this.#refreshTokens.get(refreshToken);
    if (r === undefined || r.clientId !== clientId) return { kind: 'invalid_grant' };
    this.#refreshTokens.delete(refreshToken);
    return this.#issueToken(clientId, r.startUrl);
  }

  /** True when `accessToken` is a live token (GetRoleCredentials' bearer check). */
  checkAccessToken(accessToken: string): boolean {
    const t = this.#accessTokens.get(accessToken);
    return t !== undefined && t.expiresAt > this.#now();
  }

  /** sso:Logout: the token stops working. */
  revokeAccessToken(accessToken: string): void {
    this.#accessTokens.delete(accessToken);
  }

  issueCredentials(accountId: string, arn: string): IssuedCredentials {
    const c: IssuedCredentials = {
      accessKeyId: `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
      secretAccessKey: token(30),
      sessionToken: token(120),
      expiresAt: this.#now() + this.settings.credentialLifetimeSeconds * 1000,
      accountId,
      arn,
    };
    bounded(this.#credentials, c.accessKeyId, c);
    return c;
  }

  /** Issued credentials by access key id (expired ones too: the caller reports ExpiredToken). */
  credentials(accessKeyId: string): IssuedCredentials | undefined {
    return this.#credentials.get(accessKeyId);
  }

  /** Does `roleArn` need an MFA code to be assumed? */
  roleNeedsMfa(roleArn: string): boolean {
    const name = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    return this.settings.mfaRoles.some((r) => r === '*' || r === roleArn || r === name);
  }

  /**
   * The test hook behind "credentials expire mid-session": every access token, refresh token and
   * issued credential stops working now (the sign-in session ended).
   */
  expireAll(): void {
    const now = this.#now();
    for (const t of this.#accessTokens.values()) t.expiresAt = Math.min(t.expiresAt, now);
    for (const c of this.#credentials.values()) c.expiresAt = Math.min(c.expiresAt, now);
    this.#refreshTokens.clear();
  }

  newRequestId(): string {
    return randomUUID();
  }
}
