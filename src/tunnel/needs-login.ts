/**
 * The `needs-login` forward state (issue #15), in words and codes: which failures mean "the
 * credentials stopped working" and the one line a user reads. The state machine itself is a
 * small hook in forward.ts; the waiting (cache-file watch, re-checks) is aws/credentials-watch.ts.
 */
import type { LoginHook } from './accounts.js';

const CREDENTIALS_CODES: ReadonlySet<string> = new Set([
  'ERR_AWS_LOGIN_REQUIRED',
  'ERR_AWS_CREDENTIALS',
  'ERR_AWS_EXPIRED_TOKEN',
]);

/** Did the API refuse the credentials themselves (not access to a resource)? */
export function isCredentialsCode(code: string | undefined): boolean {
  return code !== undefined && CREDENTIALS_CODES.has(code);
}

/** `sign-in needed for profile dev: run \`tunnel login --profile dev\` (…)`. */
export function needsLoginMessage(login: LoginHook, cause: string): string {
  const first = cause.split('\n')[0] ?? cause;
  return `sign-in needed for profile ${login.profile}: run \`${login.command}\`; the local port stays open and the forward resumes by itself after the sign-in (${first})`;
}
