/**
 * Reading a small text file the user named (a config file), defensively: it must be a regular
 * file (a FIFO would block forever, `/dev/urandom` never ends, a directory is a mistake), at most
 * `maxBytes` long (read no further than that, whatever the file claims), and text (UTF-8, no NUL
 * bytes). Each refusal is a short sentence for the caller to put in its own typed error.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export type TextFileResult = { ok: true; text: string } | { ok: false; reason: string; errno?: string };

function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** `1048576` → `1 MiB`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

export function readSmallTextFile(path: string, maxBytes: number): TextFileResult {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of hanging; fstat then
    // refuses it. (O_NONBLOCK has no effect on regular files.)
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const errno = e instanceof Error && 'code' in e ? String(e.code) : 'EIO';
    return { ok: false, reason: `cannot open the file (${errno})`, errno };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: `is ${kindOf(st)}, not a regular file` };
    if (st.size > maxBytes)
      return { ok: false, reason: `is ${st.size} bytes; config files are limited to ${formatBytes(maxBytes)}` };
    // Read at most maxBytes + 1 whatever st.size said (the file may grow, /proc files report 0).
    const buf = Buffer.alloc(maxBytes + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len > maxBytes)
        return { ok: false, reason: `is larger than ${formatBytes(maxBytes)}, the limit for config files` };
    }
    const bytes = buf.subarray(0, len);
    if (bytes.includes(0)) return { ok: false, reason: 'is a binary file (it contains NUL bytes), not YAML/JSON text' };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { ok: false, reason: 'is not UTF-8 text (a binary file?), not YAML/JSON' };
    }
    return { ok: true, text };
  } catch (e) {
    const errno = e instanceof Error && 'code' in e ? String(e.code) : 'EIO';
    return { ok: false, reason: `cannot read the file (${errno})`, errno };
  } finally {
    closeSync(fd);
  }
}
