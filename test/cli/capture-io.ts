/** A `CliIo` that records everything, for `main([...], io)` tests. */
import { EventEmitter, once } from 'node:events';
import { systemClock } from '../../src/clock.js';
import type { CliIo, OutputStream, SignalName } from '../../src/cli/io.js';

export class CapturedStream extends EventEmitter implements OutputStream {
  text = '';
  columns: number | undefined = undefined;
  write(chunk: string): boolean {
    this.text += chunk;
    this.emit('write', chunk);
    return true;
  }
  /**
   * Resolves with the first match of `re` in everything written so far or later; rejects if
   * `running` (the command) settles first.
   */
  async waitFor(re: RegExp, running?: Promise<unknown>): Promise<RegExpMatchArray> {
    if (running === undefined) return this.#waitFor(re);
    return Promise.race([
      this.#waitFor(re),
      running.then((v) => {
        throw new Error(`command ended (${String(v)}) before output matched ${re}:\n${this.text}`);
      }),
    ]);
  }

  async #waitFor(re: RegExp): Promise<RegExpMatchArray> {
    for (let i = 0; i < 10_000; i++) {
      const m = this.text.match(re);
      if (m !== null) return m;
      await once(this, 'write');
    }
    throw new Error(`never matched ${re}`);
  }
  lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

export class CapturedIo implements CliIo {
  stdout = new CapturedStream();
  stderr = new CapturedStream();
  stdin = undefined;
  env: Record<string, string | undefined>;
  cwd: string;
  homedir: string;
  isTTY = false;
  stdinIsTTY = false;
  clock = systemClock;
  childStdio = 'pipe' as const;
  exitCode: number | undefined;
  readonly #handlers = new Map<SignalName, Set<() => void>>();

  constructor(options: { cwd: string; env?: Record<string, string | undefined>; homedir?: string }) {
    this.cwd = options.cwd;
    this.homedir = options.homedir ?? options.cwd;
    // No ambient AWS settings leak into tests unless a test sets them.
    this.env = { ...(options.env ?? {}) };
  }
  onSignal(signal: SignalName, handler: () => void): () => void {
    const set = this.#handlers.get(signal) ?? new Set();
    set.add(handler);
    this.#handlers.set(signal, set);
    return () => set.delete(handler);
  }
  /** Deliver a signal as the process would. */
  signal(name: SignalName): number {
    const hs = [...(this.#handlers.get(name) ?? [])];
    for (const h of hs) h();
    return hs.length;
  }
  setExitCode(code: number): void {
    this.exitCode = code;
  }
}
