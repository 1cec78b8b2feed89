/**
 * The forwards a background process holds, from any number of projects. Each forward has its
 * own TunnelManager (so one can be replaced without touching another) and remembers the config
 * file it came from. `up` applies a project's forwards as a difference: a forward whose spec and
 * AWS settings are unchanged (and which has not failed) is left alone, connections and all; a
 * changed one is stopped (TerminateSession) and started again; one the project's config no
 * longer has is removed.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { TunnelError } from '../errors.js';
import type { TunnelEvent } from '../tunnel/events.js';
import type { ForwardSpec } from '../tunnel/forward-spec.js';
import { TunnelManager } from '../tunnel/tunnel-manager.js';
import { awsSettingsFromInput, canonical } from './aws-input.js';
import type { BackgroundStatus, Change, ChangeAction, DownReply, UpReply, UpRequest } from './protocol.js';

interface Entry {
  project: string;
  spec: ForwardSpec;
  /** canonical(spec) + canonical(aws): what decides "unchanged". */
  identity: string;
  manager: TunnelManager;
  since: number;
}

export interface RegistryOptions {
  clock: Clock;
  /** A record for the log (engine events get `project` added). */
  record(r: { type: string; forward?: string; project?: string; [k: string]: unknown }): void;
}

const keyOf = (project: string, name: string): string => `${project}\u0000${name}`;

export class Registry {
  readonly #entries = new Map<string, Entry>();
  readonly #o: RegistryOptions;

  constructor(options: RegistryOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  #queue: Promise<unknown> = Promise.resolve();

  /** Changes to the set of forwards happen one request at a time (racing `up -d`s, `down`). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async up(req: UpRequest): Promise<UpReply> {
    const { changes, requested } = await this.#serial(() => this.#apply(req));
    // Wait outside the queue: every requested forward, including one another request is still
    // starting (start() of a started forward resolves once it is ready or failed).
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<'timeout'>(
      (r) => (timer = this.#o.clock.setTimeout(() => r('timeout'), req.timeoutMs)),
    );
    const outcome = await Promise.race([
      Promise.all(requested.map((e) => e.manager.start())).then(() => 'settled' as const),
      timedOut,
    ]);
    if (timer !== undefined) this.#o.clock.clearTimeout(timer);
    return { outcome, changes, forwards: requested.map((e) => statusOf(e)) };
  }

  async #apply(req: UpRequest): Promise<{ changes: Change[]; requested: Entry[] }> {
    const aws = awsSettingsFromInput(req.aws);
    const awsId = canonical(req.aws);
    const changes: Change[] = [];
    const requested: Entry[] = [];
    // Build every new manager before stopping anything: a bad endpoint fails the request whole.
    const plans: Array<{ spec: ForwardSpec; old: Entry | undefined; manager: TunnelManager | undefined }> = [];
    for (const spec of req.forwards) {
      const old = this.#entries.get(keyOf(req.project, spec.name));
      const identity = canonical(spec) + awsId;
      const keep = old !== undefined && old.identity === identity && !isDead(old);
      plans.push({ spec, old, manager: keep ? undefined : this.#manager(req.project, aws) });
    }
    if (req.configured !== undefined) {
      const wanted = new Set(req.configured);
      for (const e of [...this.#entries.values()]) {
        if (e.project !== req.project || wanted.has(e.spec.name)) continue;
        await this.#remove(e, 'removed', changes);
      }
    }
    for (const { spec, old, manager } of plans) {
      if (manager === undefined && old !== undefined) {
        requested.push(old);
        changes.push(this.#change(req.project, spec.name, 'unchanged'));
        continue;
      }
      if (manager === undefined) continue;
      // A changed forward gives up its port before its successor binds it.
      if (old !== undefined) await this.#stop(old);
      manager.add(spec);
      const e: Entry = {
        project: req.project,
        spec,
        identity: canonical(spec) + awsId,
        manager,
        since: this.#o.clock.wallNow(),
      };
      this.#entries.set(keyOf(req.project, spec.name), e);
      changes.push(this.#change(req.project, spec.name, old === undefined ? 'added' : 'restarted'));
      requested.push(e);
      // Start now; the caller waits for it outside the queue.
      void e.manager.start();
    }
    return { changes, requested };
  }

  /** Stop the selected forwards: by name (any project), by project, or all. */
  down(sel: { names?: string[]; project?: string; all?: boolean }): Promise<DownReply> {
    return this.#serial(() => this.#down(sel));
  }

  async #down(sel: { names?: string[]; project?: string; all?: boolean }): Promise<DownReply> {
    const names = sel.names ?? [];
    const chosen = [...this.#entries.values()].filter((e) => {
      if (sel.all === true) return true;
      if (names.length > 0)
        return names.includes(e.spec.name) && (sel.project === undefined || e.project === sel.project);
      return sel.project !== undefined && e.project === sel.project;
    });
    if (names.length > 0) {
      const missing = names.filter((n) => !chosen.some((e) => e.spec.name === n));
      if (missing.length > 0) throw this.#noSuch(missing);
    }
    const changes: Change[] = [];
    await Promise.all(chosen.map((e) => this.#remove(e, 'stopped', changes)));
    return { changes, remaining: this.#entries.size };
  }

  status(names: readonly string[] = []): BackgroundStatus[] {
    const all = [...this.#entries.values()];
    if (names.length > 0) {
      const missing = names.filter((n) => !all.some((e) => e.spec.name === n));
      if (missing.length > 0) throw this.#noSuch(missing);
    }
    return all.filter((e) => names.length === 0 || names.includes(e.spec.name)).map((e) => statusOf(e));
  }

  stopAll(): Promise<void> {
    return this.#serial(async () => {
      const changes: Change[] = [];
      await Promise.all([...this.#entries.values()].map((e) => this.#remove(e, 'stopped', changes)));
    });
  }

  #noSuch(missing: string[]): TunnelError {
    const have = [...new Set([...this.#entries.values()].map((e) => e.spec.name))];
    return new TunnelError(
      'ERR_DAEMON_NO_SUCH_FORWARD',
      `no background forward named ${missing.join(', ')} (running: ${have.length === 0 ? 'none' : have.join(', ')})`,
      { details: { forwards: missing.join(',') } },
    );
  }

  #manager(project: string, aws: ReturnType<typeof awsSettingsFromInput>): TunnelManager {
    const m = new TunnelManager({ aws, clock: this.#o.clock });
    m.on('event', (e: TunnelEvent) => this.#o.record({ ...e, project }));
    return m;
  }

  #change(project: string, forward: string, action: ChangeAction): Change {
    this.#o.record({ type: 'change', project, forward, action });
    return { project, forward, action };
  }

  async #stop(e: Entry): Promise<void> {
    this.#entries.delete(keyOf(e.project, e.spec.name));
    await e.manager.stop();
    e.manager.removeAllListeners('event');
  }

  async #remove(e: Entry, action: ChangeAction, changes: Change[]): Promise<void> {
    await this.#stop(e);
    changes.push(this.#change(e.project, e.spec.name, action));
  }
}

function isDead(e: Entry): boolean {
  const s = e.manager.status()[0];
  return s === undefined || s.state === 'failed' || s.state === 'stopped';
}

function statusOf(e: Entry): BackgroundStatus {
  const s = e.manager.status()[0];
  if (s === undefined) throw new Error(`forward ${e.spec.name} has no status`);
  return { ...s, project: e.project, since: e.since };
}
