/**
 * The hosts-file block `tunnel hosts --write` maintains (issue #19). Only the lines between the
 * two markers are ever changed; everything else in the file stays byte for byte. Before a change
 * the current file is copied to `<file>.tunnel-backup`. Without the rights to write the file (or
 * to make the backup next to it) nothing is changed and the error says how to proceed.
 *
 * The file is `--file PATH`, else `$TUNNEL_HOSTS_FILE` (tests use it: documented in docs/cli.md),
 * else the system hosts file.
 */
import { access, copyFile, readFile, writeFile, constants } from 'node:fs/promises';
import { TunnelError } from '../errors.js';

export const BLOCK_BEGIN = '# >>> tunnel: managed by `tunnel hosts --write`; changes inside this block are overwritten';
export const BLOCK_END = '# <<< tunnel';

export interface HostsEntry {
  address: string;
  hostname: string;
  forward: string;
}

export function defaultHostsPath(
  platform: NodeJS.Platform = process.platform,
  env: Record<string, string | undefined> = {},
): string {
  if (platform === 'win32') return `${env['SystemRoot'] ?? 'C:\\Windows'}\\System32\\drivers\\etc\\hosts`;
  return '/etc/hosts';
}

export function hostsPath(flag: string | undefined, env: Record<string, string | undefined>): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env['TUNNEL_HOSTS_FILE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return defaultHostsPath(process.platform, env);
}

/** `127.0.0.7  orders.xxx.rds.amazonaws.com  # forward db`. */
export function hostsLines(entries: readonly HostsEntry[]): string[] {
  const width = Math.max(0, ...entries.map((e) => e.address.length));
  return entries.map((e) => `${e.address.padEnd(width)}  ${e.hostname}  # tunnel forward ${e.forward}`);
}

function hostsError(message: string, path: string, cause?: unknown): TunnelError {
  return new TunnelError('ERR_CLI_HOSTS_FILE', message, {
    ...(cause === undefined ? {} : { cause }),
    details: { file: path },
  });
}

/**
 * The file text with the block replaced by `lines` (appended when absent), or removed when
 * `lines` is undefined. Throws for a block without its end marker (never guess what to delete).
 */
export function replaceBlock(text: string, lines: readonly string[] | undefined, path = 'hosts file'): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const all = text.split(/\r?\n/);
  const begin = all.findIndex((l) => l.trimEnd() === BLOCK_BEGIN);
  const end = begin < 0 ? -1 : all.findIndex((l, i) => i > begin && l.trimEnd() === BLOCK_END);
  if (begin >= 0 && end < 0)
    throw hostsError(`${path}: the tunnel block has no end line "${BLOCK_END}"; fix the file by hand`, path);
  const block = lines === undefined ? [] : [BLOCK_BEGIN, ...lines, BLOCK_END];
  if (begin >= 0) {
    all.splice(begin, end - begin + 1, ...block);
    return all.join(eol);
  }
  if (block.length === 0) return text;
  const sep = text === '' || text.endsWith('\n') ? '' : eol;
  return `${text}${sep}${block.join(eol)}${eol}`;
}

export type HostsChange = 'written' | 'removed' | 'unchanged';

/** Write (or with `lines` undefined, remove) the block in `path`; backup first. */
export async function updateHostsFile(path: string, lines: readonly string[] | undefined): Promise<HostsChange> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && lines !== undefined) text = '';
    else if (code === 'ENOENT') return 'unchanged';
    else throw hostsError(`cannot read ${path}: ${(e as Error).message}`, path, e);
  }
  const next = replaceBlock(text, lines, path);
  if (next === text) return 'unchanged';
  const denied = (e: unknown, what: string): TunnelError => {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : (e as Error).message;
    return hostsError(
      `cannot ${what} ${path} (${why}); nothing was changed. Run it with the rights to write the hosts file (sudo tunnel hosts --write${lines === undefined ? ' --remove' : ''}), or add the lines \`tunnel hosts\` prints yourself`,
      path,
      e,
    );
  };
  try {
    if (text !== '') await access(path, constants.W_OK);
  } catch (e) {
    throw denied(e, 'write');
  }
  const backup = `${path}.tunnel-backup`;
  if (text !== '') {
    try {
      await copyFile(path, backup);
    } catch (e) {
      throw denied(e, `write the backup ${backup} of`);
    }
  }
  try {
    // In place (not rename): keeps the file's owner, mode and inode (a bind-mounted /etc/hosts).
    await writeFile(path, next, 'utf8');
  } catch (e) {
    throw denied(e, 'write');
  }
  return lines === undefined ? 'removed' : 'written';
}
