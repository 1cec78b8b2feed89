/**
 * Waiting for a new sign-in (issue #15): a forward whose credentials stopped working parks in
 * `needs-login` and calls `waitForLogin()`, which resolves once a credentials check passes.
 * Checks run when a file under the credential caches or the shared config changes
 * (`~/.aws/sso/cache`, `~/.aws/cli/cache`, `~/.aws`: `tunnel login`, `aws sso login`, an edited
 * credentials file) and on a slow periodic re-check, never in a loop: at most one check at a
 * time, and none more often than `minGapMs`. A check is one credentials-provider call (for an
 * SSO profile: one GetRoleCredentials), not an SSM API call.
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export interface LoginWaitOptions {
  home: string;
  /** Resolves when credentials work (e.g. the provider with forceRefresh); rejects otherwise. */
  check(): Promise<void>;
  /** Timer (the tunnel layer passes its clock): returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
  /** Periodic re-check; default 60 s. */
  recheckMs?: number;
  /** Debounce for bursts of file events; default 250 ms. */
  minGapMs?: number;
}

export interface LoginWait {
  /** Resolves when a check passes; rejects with an AbortError when `signal` fires. */
  waitForLogin(signal: AbortSignal): Promise<void>;
}

export function createLoginWait(options: LoginWaitOptions): LoginWait {
  const dirs = [
    join(options.home, '.aws'),
    join(options.home, '.aws', 'sso', 'cache'),
    join(options.home, '.aws', 'cli', 'cache'),
  ];
  return {
    waitForLogin(signal) {
      return new Promise<void>((resolve, reject) => {
        const watchers: FSWatcher[] = [];
        let cancelTimer: (() => void) | undefined;
        let checking = false;
        let again = false;
        let done = false;
        const finish = (err?: Error): void => {
          if (done) return;
          done = true;
          for (const w of watchers) w.close();
          cancelTimer?.();
          signal.removeEventListener('abort', onAbort);
          if (err === undefined) resolve();
          else reject(err);
        };
        const onAbort = (): void => finish(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        const runCheck = (): void => {
          if (done) return;
          if (checking) {
            again = true;
            return;
          }
          checking = true;
          options.check().then(
            () => {
              checking = false;
              finish();
            },
            () => {
              checking = false;
              if (again && !done) {
                again = false;
                soon();
              }
            },
          );
        };
        const soon = (): void => {
          cancelTimer?.();
          cancelTimer = options.schedule(() => {
            cancelTimer = undefined;
            runCheck();
            periodic();
          }, options.minGapMs ?? 250);
        };
        const periodic = (): void => {
          if (done || cancelTimer !== undefined) return;
          cancelTimer = options.schedule(() => {
            cancelTimer = undefined;
            runCheck();
            periodic();
          }, options.recheckMs ?? 60_000);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        for (const dir of dirs) {
          try {
            // The AWS CLI creates these the same way; watching needs them to exist.
            mkdirSync(dir, { recursive: true, mode: 0o700 });
            const w = watch(dir, { persistent: false }, () => soon());
            w.on('error', () => w.close());
            watchers.push(w);
          } catch {
            // Not watchable (read-only home): the periodic re-check still runs.
          }
        }
        periodic();
      });
    },
  };
}
