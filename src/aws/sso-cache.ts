/**
 * The SSO token cache the AWS CLI and the SDKs share: `~/.aws/sso/cache/<sha1(key)>.json`
 * (key: the sso-session name, or the start URL of a legacy profile; see shared-config.ts).
 *
 * Fields (the names the CLI writes and the SDK's token provider reads): `startUrl`, `region`,
 * `accessToken`, `expiresAt` (ISO-8601 UTC), and for refreshing `clientId`, `clientSecret`,
 * `registrationExpiresAt`, `refreshToken`. The file holds a bearer token: it is written 0600 in
 * a 0700 directory, through a temporary file and a rename so a reader never sees half of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SsoTokenFile {
  startUrl: string;
  region: string;
  accessToken: string;
  expiresAt: string;
  clientId?: string;
  clientSecret?: string;
  registrationExpiresAt?: string;
  refreshToken?: string;
}

export function ssoCacheDir(home: string): string {
  return join(home, '.aws', 'sso', 'cache');
}

/** `~/.aws/sso/cache/<sha1 hex of key>.json`. */
export function ssoCachePath(home: string, key: string): string {
  return join(ssoCacheDir(home), `${createHash('sha1').update(key).digest('hex')}.json`);
}

/** ISO-8601 UTC without milliseconds, as the AWS CLI writes it. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The cached token, or undefined when there is none or it does not parse. */
export async function readSsoToken(home: string, key: string): Promise<SsoTokenFile | undefined> {
  let text: string;
  try {
    text = await readFile(ssoCachePath(home, key), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o['accessToken'] !== 'string' || typeof o['expiresAt'] !== 'string') return undefined;
    return o as unknown as SsoTokenFile;
  } catch {
    return undefined;
  }
}

/** Write a file readable by its owner only, atomically (temp file + rename). */
export async function writePrivateFile(path: string, dir: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    // The umask may have narrowed the mode further; it must not be wider.
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeSsoToken(home: string, key: string, token: SsoTokenFile): Promise<string> {
  const path = ssoCachePath(home, key);
  await writePrivateFile(path, ssoCacheDir(home), `${JSON.stringify(token, null, 2)}\n`);
  return path;
}

/** Remove the cached token; true when there was one. */
export async function removeSsoToken(home: string, key: string): Promise<boolean> {
  const path = ssoCachePath(home, key);
  try {
    await rm(path);
    return true;
  } catch {
    return false;
  }
}
