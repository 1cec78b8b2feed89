/**
 * One set of AWS clients per account (issue #15): a forward's `profile:`/`region:` (or its
 * target alias's) override the manager's settings, and each distinct (profile, region) gets its
 * own SSM client, KMS handler and credentials provider, shared by the forwards that use it.
 *
 * For profile-based credentials (the SDK chain: SSO, assume-role, MFA…) each account also gets
 * a login hook: the exact `tunnel login` to print, a credentials check, and a wait that ends
 * when a check passes after a cache file changed (see aws/credentials-watch.ts). Static keys
 * (environment, injected) get no hook: refused static keys cannot fix themselves.
 */
import { homedir } from 'node:os';
import type { Clock } from '../clock.js';
import { baseCredentialProvider } from '../aws/credentials.js';
import { createLoginWait } from '../aws/credentials-watch.js';
import { loginCommand, profileNameFor, ssoProfile } from '../aws/shared-config.js';
import type { AwsSettings } from '../aws/settings.js';
import { createSsmApi, type SsmApi } from '../aws/ssm-api.js';
import type { ForwardSpec } from './forward-spec.js';
import type { SessionFactory } from './session-ports.js';

export interface LoginHook {
  profile: string;
  /** `tunnel login --profile P`. */
  command: string;
  /** One credentials check (an SSO profile re-reads the token cache and fetches role keys). */
  check(): Promise<void>;
  /** Resolves when credentials work again; rejects when `signal` fires. */
  waitForLogin(signal: AbortSignal): Promise<void>;
}

export interface AccountClients {
  settings: AwsSettings;
  api: SsmApi;
  factory: SessionFactory;
  login: LoginHook | undefined;
}

export interface AccountsOptions {
  clock: Clock;
  /** Injected API (tests): used for the default account. */
  ssm?: SsmApi;
  /** Injected factory (tests): used for every account. */
  factory?: SessionFactory;
  makeFactory(settings: AwsSettings, api: SsmApi): SessionFactory;
  /** Periodic credentials re-check while a forward waits for a sign-in; default 60 s. */
  loginRecheckMs?: number;
}

export class Accounts {
  readonly #base: AwsSettings;
  readonly #o: AccountsOptions;
  readonly #byKey = new Map<string, AccountClients>();

  constructor(base: AwsSettings, options: AccountsOptions) {
    this.#base = base;
    this.#o = options;
  }

  /** The clients for a spec's account (created on first use). */
  for(spec: Pick<ForwardSpec, 'profile' | 'region'>): AccountClients {
    const profile = spec.profile ?? this.#base.profile;
    const region = spec.region ?? this.#base.region;
    const key = `${profile ?? ''}\u0000${region ?? ''}`;
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    const isDefault = profile === this.#base.profile && region === this.#base.region;
    const settings: AwsSettings = { ...this.#base };
    if (profile !== undefined) settings.profile = profile;
    if (region !== undefined) settings.region = region;
    // A forward naming its own profile uses that profile's credentials, not the default keys.
    if (!isDefault && spec.profile !== undefined && spec.profile !== this.#base.profile) delete settings.credentials;
    const hasChain = settings.credentials === undefined;
    // One provider per account, shared by its SSM and KMS clients and the login check.
    if (hasChain) settings.credentials = baseCredentialProvider(settings);
    const api = isDefault && this.#o.ssm !== undefined ? this.#o.ssm : createSsmApi(settings);
    const clients: AccountClients = {
      settings,
      api,
      factory: this.#o.factory ?? this.#o.makeFactory(settings, api),
      login: hasChain ? this.#loginHook(settings) : undefined,
    };
    this.#byKey.set(key, clients);
    return clients;
  }

  #loginHook(settings: AwsSettings): LoginHook {
    const env = settings.env ?? process.env;
    const profile = profileNameFor(settings.profile, env);
    const provider = settings.credentials;
    const check = async (): Promise<void> => {
      if (provider === undefined) return;
      // SSO role keys are re-fetched (the cache file may hold a new token); other profiles use
      // their own memo and caches (a forced refresh of an MFA role would prompt again).
      const sso = await ssoProfile(profile).catch(() => undefined);
      await provider(sso === undefined ? undefined : { forceRefresh: true });
    };
    const clock = this.#o.clock;
    const wait = createLoginWait({
      home: env['HOME'] ?? homedir(),
      check,
      schedule: (fn, ms) => {
        const h = clock.setTimeout(fn, ms);
        return () => clock.clearTimeout(h);
      },
      ...(this.#o.loginRecheckMs === undefined ? {} : { recheckMs: this.#o.loginRecheckMs }),
    });
    return { profile, command: loginCommand(profile), check, waitForLogin: (s) => wait.waitForLogin(s) };
  }
}
