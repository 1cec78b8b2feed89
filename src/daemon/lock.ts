/**
 * The start lock: whoever holds it may remove a stale control socket and start the background
 * process, so two racing `tunnel up -d` start exactly one. It is a file created with O_EXCL
 * holding `PID NONCE`. A lock whose PID is no longer alive (its holder was killed) is stale and
 * taken over: renamed away to a unique name (atomic), then checked to be the very file judged
 * stale; had another process replaced it meanwhile, it is linked back (link never overwrites).
 */
import { randomBytes } from 'node:crypto';
import { linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { TunnelError } from '../errors.js';

export interface LockHandle {
  release(): void;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is someone else's (a reused pid); treat it as alive, to be safe.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Take over `path` if it still holds `seen` (a dead holder's content). */
function takeOver(path: string, seen: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // Gone already: someone else took it over.
  }
  if (readOrUndefined(aside) === seen) {
    unlinkSync(aside);
    return;
  }
  // We moved a live holder's fresh lock: put it back unless yet another one appeared.
  try {
    linkSync(aside, path);
  } catch {
    // Another lock exists now; the live holder's file is lost, but that holder still removes
    // only its own content on release (see release()).
  }
  unlinkSync(aside);
}

/**
 * Acquire the lock, waiting (polling every `pollMs`) while a live process holds it; throws
 * ERR_DAEMON_START_FAILED after `timeoutMs`.
 */
export async function acquireStartLock(path: string, timeoutMs: number, pollMs = 40): Promise<LockHandle> {
  const content = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if (tryCreate(path, content)) {
      return {
        release() {
          if (readOrUndefined(path) === content) {
            try {
              unlinkSync(path);
            } catch {
              // Already gone.
            }
          }
        },
      };
    }
    const seen = readOrUndefined(path);
    // An empty or partial file is a holder between create and write: alive.
    if (seen !== undefined && seen.endsWith('\n') && !pidAlive(Number(seen.split(' ')[0]))) {
      takeOver(path, seen);
      continue;
    }
    if (Date.now() > deadline || i > 100_000) {
      throw new TunnelError(
        'ERR_DAEMON_START_FAILED',
        `another tunnel is starting the background process and did not finish within ${timeoutMs} ms (lock ${path}, held by pid ${seen?.split(' ')[0] ?? '?'})`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
