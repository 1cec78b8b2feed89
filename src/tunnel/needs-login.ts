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

export interface PauseHooks {
  /** The re-check passed: try again now. */
  retry(): void;
  /** Enter needs-login (state, event, clients); false when the forward is stopped or already parked. */
  park(login: LoginHook): boolean;
  /** A new sign-in works: leave needs-login. */
  resume(): void;
}

/**
 * The forward's side of waiting for a sign-in: the first refusal after a working session gets one
 * credentials re-check (an expired key may just need refreshing, which the SDK does); a failed
 * re-check, or a second refusal, parks the forward until `waitForLogin` resolves.
 */
export class LoginPause {
  readonly #login: LoginHook;
  #checked = false;
  #wait: AbortController | undefined;

  constructor(login: LoginHook) {
    this.#login = login;
  }

  /** A session came up: the next refusal deserves a re-check again. */
  sessionReady(): void {
    this.#checked = false;
  }

  refused(hooks: PauseHooks): void {
    if (this.#wait !== undefined) return;
    if (!this.#checked) {
      this.#checked = true;
      void this.#login.check().then(
        () => hooks.retry(),
        () => this.#park(hooks),
      );
      return;
    }
    this.#park(hooks);
  }

  #park(hooks: PauseHooks): void {
    if (this.#wait !== undefined || !hooks.park(this.#login)) return;
    const wait = new AbortController();
    this.#wait = wait;
    this.#login.waitForLogin(wait.signal).then(
      () => {
        if (this.#wait !== wait) return;
        this.#wait = undefined;
        this.#checked = true;
        hooks.resume();
      },
      () => undefined,
    );
  }

  /** Stop waiting (the forward stopped or failed). */
  cancel(): void {
    this.#wait?.abort();
    this.#wait = undefined;
  }
}
