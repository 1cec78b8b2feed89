/**
 * Child processes for the benchmark: the emulator and the tunnel each run in their own Node
 * process (forked with an IPC channel), so neither steals the other's event loop and the
 * tunnel's CPU and memory are its own. Each child prints one JSON line `{"type":"ready",...}` on
 * stdout when it is up, and answers `{ id, cmd }` requests over IPC with `{ id, ok, result|error }`.
 * Every child is killed when the driver exits, however it exits; children also exit on their
 * own when the IPC channel goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface IpcRequest {
  id: number;
  cmd: string;
  [k: string]: unknown;
}
export interface IpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

function isReply(v: unknown): v is IpcReply {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { id?: unknown }).id === 'number' &&
    typeof (v as { ok?: unknown }).ok === 'boolean'
  );
}

export class BenchChild {
  readonly #proc: ChildProcess;
  readonly #name: string;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #exited: Promise<number | null>;
  #stderrTail: string[] = [];
  /** The child's ready line, parsed. */
  ready: Record<string, unknown> = {};
  /** Milliseconds from fork() to the ready line (includes Node start-up and module loading). */
  readyMs = 0;

  private constructor(name: string, proc: ChildProcess) {
    this.#name = name;
    this.#proc = proc;
    live.add(proc);
    this.#exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        live.delete(proc);
        for (const w of this.#waiting.values())
          w.reject(new Error(`${name} exited (code ${code}) ${this.stderrTail()}`));
        this.#waiting.clear();
        resolve(code);
      });
    });
    proc.on('message', (m: unknown) => {
      if (!isReply(m)) return;
      const w = this.#waiting.get(m.id);
      if (w === undefined) return;
      this.#waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${name}: ${m.error ?? 'request failed'}`));
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      this.#stderrTail.push(s);
      if (this.#stderrTail.length > 20) this.#stderrTail.shift();
      if (process.env['BENCH_VERBOSE'] !== undefined) process.stderr.write(`[${name}] ${s}`);
    });
  }

  stderrTail(): string {
    const t = this.#stderrTail.join('').trim();
    return t === '' ? '' : `; stderr: ${t.slice(-800)}`;
  }

  /** Fork `script` (a compiled dist/bench/*.js path) and wait for its ready line. */
  static async start(
    name: string,
    script: string,
    args: string[],
    opts: { execArgv?: string[]; timeoutMs: number },
  ): Promise<BenchChild> {
    const t0 = process.hrtime.bigint();
    const proc = fork(script, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: opts.execArgv ?? [] });
    const child = new BenchChild(name, proc);
    const stdout = proc.stdout;
    if (stdout === null) throw new Error(`${name}: no stdout`);
    const lines = createInterface({ input: stdout });
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        try {
          const v: unknown = JSON.parse(line);
          if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'ready')
            resolve(v as Record<string, unknown>);
        } catch {
          // not our line
        }
      });
      void child.#exited.then((code) =>
        reject(new Error(`${name} exited (code ${code}) before ready${child.stderrTail()}`)),
      );
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs);
    try {
      child.ready = await ready;
    } finally {
      clearTimeout(timer);
    }
    child.readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
    return child;
  }

  /** One IPC request; rejects after `timeoutMs` or when the child exits. */
  async request<T>(cmd: string, extra: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.#nextId++;
    const p = new Promise<unknown>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.#name}: '${cmd}' timed out`));
      }, timeoutMs);
      timer.unref();
    });
    const req: IpcRequest = { id, cmd, ...extra };
    this.#proc.send(req);
    return (await p) as T;
  }

  /** Ask the child to stop cleanly (it exits itself); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), timeoutMs);
    try {
      this.#proc.send({ id: 0, cmd: 'stop' });
    } catch {
      this.#proc.kill('SIGKILL');
    }
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * The child side: serve IPC requests with `handlers`; 'stop' runs `onStop` then exits. The child
 * exits when the parent goes away (IPC disconnect), so nothing outlives the driver.
 */
export function serveParent(
  handlers: Record<string, (req: IpcRequest) => Promise<unknown> | unknown>,
  onStop: () => Promise<void>,
): void {
  const send = (r: IpcReply): void => {
    if (process.send !== undefined && process.connected) process.send(r);
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(1), 4_000);
    try {
      await onStop();
    } finally {
      clearTimeout(hard);
      process.exit(0);
    }
  };
  process.on('disconnect', () => void stop());
  process.on('message', (m: unknown) => {
    const req = m as IpcRequest;
    if (typeof req !== 'object' || req === null || typeof req.cmd !== 'string') return;
    if (req.cmd === 'stop') {
      void stop();
      return;
    }
    const h = handlers[req.cmd];
    if (h === undefined) {
      send({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => h(req))
      .then(
        (result) => send({ id: req.id, ok: true, result }),
        (e: unknown) => send({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
  });
}

/** Print the one ready line the parent waits for. */
export function announceReady(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ type: 'ready', ...fields })}\n`);
}
