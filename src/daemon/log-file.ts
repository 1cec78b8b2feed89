/**
 * The background process's log: one JSON object per line (engine events as docs/events.md
 * describes them, plus the process's own `daemon` and `change` records), in a size-bounded file
 * rotated once: when `tunnel.log` would pass `maxBytes` it becomes `tunnel.log.1` (replacing the
 * previous one) and a fresh file starts. At most 2 × maxBytes on disk. Writes are synchronous
 * appends of one line: nothing queues in memory.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import type { LogRecord } from './protocol.js';

export const DEFAULT_LOG_MAX_BYTES = 1 << 20;

export class RotatingLog {
  readonly path: string;
  readonly maxBytes: number;
  #fd: number;
  #size: number;

  constructor(path: string, maxBytes = DEFAULT_LOG_MAX_BYTES) {
    this.path = path;
    this.maxBytes = Math.max(4096, maxBytes);
    this.#fd = openSync(path, 'a', 0o600);
    this.#size = statSync(path).size;
  }

  write(record: LogRecord): void {
    const line = `${JSON.stringify(record)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.#size > 0 && this.#size + bytes > this.maxBytes) this.#rotate();
    try {
      writeSync(this.#fd, line);
      this.#size += bytes;
    } catch {
      // A full disk must not take the forwards down with it: the line is lost.
    }
  }

  #rotate(): void {
    closeSync(this.#fd);
    try {
      renameSync(this.path, `${this.path}.1`);
    } catch {
      // Someone removed it: start afresh anyway.
    }
    this.#fd = openSync(this.path, 'a', 0o600);
    this.#size = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Every record in the rotated file then the current one, oldest first; bad lines skipped. */
export function readLog(path: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const p of [`${path}.1`, path]) {
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const v: unknown = JSON.parse(line);
        if (typeof v === 'object' && v !== null && 'type' in v && 'seq' in v) out.push(v as LogRecord);
      } catch {
        // A torn last line after a crash.
      }
    }
  }
  return out;
}

/** The highest sequence number in the log, so a restarted process continues after it. */
export function lastSeq(path: string): number {
  let max = 0;
  for (const r of readLog(path)) if (typeof r.seq === 'number' && r.seq > max) max = r.seq;
  return max;
}
