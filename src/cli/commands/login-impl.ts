/**
 * `tunnel login` / `tunnel logout`: which profile, what to print, the browser. The sign-in
 * itself (OIDC device flow, token cache) is `aws/sso-login.ts`.
 *
 * Printed: the verification URL and the user code (neither is a secret: the code is what the
 * user compares in the browser), progress, and where the token was cached. Never the token.
 */
import { spawn } from 'node:child_process';
import { AwsError } from '../../errors.js';
import { loginCommand, profileNameFor, ssoProfile, type SsoProfile } from '../../aws/shared-config.js';
import { loadFor } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';

function json(io: CliIo, value: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify({ time: new Date(io.clock.wallNow()).toISOString(), ...value })}\n`);
}

/** The profile: --profile, else the config's defaults.profile, else AWS_PROFILE, else `default`. */
async function profileFor(io: CliIo, args: GlobalArgs): Promise<string> {
  if (args.profile !== undefined && args.profile !== '') return args.profile;
  const { config } = await loadFor(io, args);
  return profileNameFor(config.defaults.profile, io.env);
}

async function ssoFor(io: CliIo, args: GlobalArgs): Promise<SsoProfile> {
  const profile = await profileFor(io, args);
  const sso = await ssoProfile(profile);
  if (sso === undefined) {
    throw new AwsError(
      'ERR_AWS_NOT_SSO_PROFILE',
      `profile ${profile} does not sign in through IAM Identity Center: it needs sso_session (with an [sso-session] section holding sso_start_url and sso_region) or sso_start_url and sso_region, in ${io.env['AWS_CONFIG_FILE'] ?? '~/.aws/config'}`,
      { details: { profile } },
    );
  }
  return sso;
}

/** Open `url` with the platform's opener; resolves to whether one started. */
function openBrowser(io: CliIo, url: string): Promise<boolean> {
  const platform = process.platform;
  if (platform === 'linux' && !io.env['DISPLAY'] && !io.env['WAYLAND_DISPLAY'] && !io.env['BROWSER'])
    return Promise.resolve(false);
  const [cmd, argv] =
    platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : [io.env['BROWSER'] ?? 'xdg-open', [url]];
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd, argv, { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

export async function login(io: CliIo, args: GlobalArgs, options: { browser: boolean }): Promise<number> {
  const sso = await ssoFor(io, args);
  const { ssoLogin } = await import('../../aws/sso-login.js');
  const say = (s: string): void => {
    if (!args.json && !args.quiet) io.stderr.write(`${s}\n`);
  };
  say(`Signing in to ${sso.startUrl} for profile ${sso.profile} (IAM Identity Center, ${sso.ssoRegion})…`);
  let opening: Promise<void> = Promise.resolve();
  const result = await ssoLogin(sso, {
    home: io.homedir,
    env: io.env,
    now: () => io.clock.wallNow(),
    sleep: (ms) => new Promise((resolve) => io.clock.setTimeout(resolve, ms)),
    onPrompt: (p) => {
      const url = p.verificationUriComplete ?? p.verificationUri;
      if (args.json)
        json(io, {
          type: 'login-prompt',
          profile: sso.profile,
          verificationUri: p.verificationUri,
          verificationUriComplete: p.verificationUriComplete ?? null,
          userCode: p.userCode,
          expiresIn: p.expiresInSeconds,
        });
      // The code is the one thing the user must see even with --quiet.
      else io.stderr.write(`Open ${url}\nand confirm the code: ${p.userCode}\n`);
      if (!options.browser) {
        say('Not opening a browser (--no-browser); open the URL on any device.');
        return;
      }
      opening = openBrowser(io, url).then((ok) =>
        say(ok ? 'Opened your browser.' : 'No browser available here; open the URL on any device.'),
      );
    },
    onPoll: (outcome) => {
      if (args.json) json(io, { type: 'login-poll', profile: sso.profile, outcome });
      else if (outcome === 'slow_down') say('The service asked to poll more slowly; waiting longer between checks…');
    },
  });
  await opening;
  if (args.json) {
    json(io, {
      type: 'logged-in',
      profile: sso.profile,
      method: result.method,
      expiresAt: result.expiresAt,
      cacheFile: result.path,
    });
  } else if (!args.quiet) {
    io.stdout.write(
      `Signed in: profile ${sso.profile} until ${result.expiresAt}${result.method === 'refresh' ? ' (refreshed, no approval needed)' : ''}; cached in ${result.path}\n`,
    );
  }
  return 0;
}

export async function logout(io: CliIo, args: GlobalArgs): Promise<number> {
  const sso = await ssoFor(io, args);
  const { ssoLogout } = await import('../../aws/sso-login.js');
  const r = await ssoLogout(sso, { home: io.homedir, env: io.env, now: () => io.clock.wallNow() });
  if (args.json) json(io, { type: 'logged-out', profile: sso.profile, removed: r.removed, cacheFile: r.path });
  else if (!args.quiet)
    io.stdout.write(
      r.removed
        ? `Signed out: profile ${sso.profile} (removed ${r.path})\n`
        : `No cached sign-in for profile ${sso.profile}; sign in with \`${loginCommand(sso.profile)}\`\n`,
    );
  return 0;
}
