/**
 * Bring forwards up, report them, keep them up until a signal (or until `whileUp` finishes),
 * then stop them (TerminateSession for every session). Shared by `tunnel SPEC…`, `up`, `run`
 * and `demo`.
 */
import { ForwardError, TunnelError } from '../errors.js';
import type { AwsSettings } from '../aws/settings.js';
import type { ForwardStatus, TunnelEvent } from '../tunnel/events.js';
import type { ForwardSpec } from '../tunnel/forward-spec.js';
import { describeTargetRef } from '../tunnel/forward-spec.js';
import type { CliIo, SignalName } from './io.js';
import { formatAddress, formatDuration } from './output/format.js';
import { markShown } from './report.js';
import { displayState } from './output/renderer.js';
import type { Renderer } from './output/renderer.js';

export interface ForwardingOptions {
  specs: readonly ForwardSpec[];
  aws: AwsSettings;
  renderer: Renderer;
  /** Readiness deadline. */
  timeoutMs: number;
  /** Every forward must come up (`--wait`, `run`); otherwise one ready forward is enough. */
  requireAll: boolean;
  /**
   * Runs once the forwards are up; its result is the exit status and ends the session.
   * It gets an AbortSignal that fires on SIGINT/SIGTERM. Absent: stay up until a signal.
   */
  whileUp?: (up: ReadonlyArray<ForwardStatus>, signal: AbortSignal) => Promise<number>;
  /** Status refresh for the live table. */
  refreshMs?: number;
}

/** Conventional statuses of a process ended by a signal before it was up. */
const SIGNAL_EXIT: Record<SignalName, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * The forward's failure: its own typed error (so the exit status follows its code), under a
 * message that names the forward.
 */
export function errorOfForward(name: string, error: TunnelError | undefined): TunnelError {
  const e = error ?? new ForwardError('ERR_TUNNEL_SESSION_LOST', 'failed');
  return new TunnelError(e.code, `${name}: ${e.message}`, { cause: e, details: { ...e.details, forward: name } });
}

/** `db  127.0.0.1:5432 [::1]:5432 -> i-0abc localhost:5432`. */
export function describeUp(s: ForwardStatus, spec: ForwardSpec | undefined): string {
  const local = s.addresses.map((a) => formatAddress(a.address, a.port)).join(' ');
  const target = s.target ?? (spec === undefined ? '?' : describeTargetRef(spec.target));
  return `${s.name}  ${local || '-'} -> ${target} ${s.remote}${displayState(s) === 'idle' ? '  (idle: connects on first use)' : ''}`;
}

export function readySummary(s: ForwardStatus): Record<string, unknown> {
  return { forward: s.name, state: s.state, addresses: s.addresses, target: s.target ?? null, remote: s.remote };
}

/** Is the forward usable (a lazy forward is usable while idle)? */
function isUp(s: ForwardStatus): boolean {
  return s.state === 'ready' || s.state === 'idle' || s.state === 'reconnecting';
}

export async function runForwarding(io: CliIo, options: ForwardingOptions): Promise<number> {
  const { TunnelManager } = await import('../tunnel/tunnel-manager.js');
  const { renderer } = options;
  const manager = new TunnelManager({ aws: options.aws, clock: io.clock });
  const specByName = new Map(options.specs.map((s) => [s.name, s]));

  const abort = new AbortController();
  let signalName: SignalName | undefined;
  let forceExit: (() => void) | undefined;
  const onSignal = (name: SignalName) => () => {
    if (signalName !== undefined) {
      // Second signal: stop waiting for a clean shutdown.
      forceExit?.();
      return;
    }
    signalName = name;
    renderer.info(`${name === 'SIGINT' ? 'interrupted' : name}: stopping forwards…`);
    abort.abort();
  };
  const unsubscribe = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => io.onSignal(s, onSignal(s)));
  const aborted = new Promise<'signal'>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve('signal'), { once: true }),
  );

  let allFailed: (() => void) | undefined;
  const everyForwardFailed = new Promise<'failed'>((resolve) => (allFailed = () => resolve('failed')));
  let upOnce = false;
  // A forward's failure line (with its hint) is printed by the renderer as it happens; the
  // error the command ends with must not print it a second time.
  const shownError = (s: ForwardStatus): TunnelError => {
    const err = errorOfForward(s.name, manager.get(s.name)?.error);
    return renderer.human && s.state === 'failed' ? markShown(err) : err;
  };
  // Why each forward that is not up failed its last attempt: what a Ctrl-C while it keeps
  // retrying (expired credentials, an unreachable endpoint) exits with, instead of 0.
  const failingError = (): TunnelError | undefined => {
    for (const s of manager.status()) {
      if (s.state === 'ready' || s.state === 'idle' || s.state === 'stopped') continue;
      const why = manager.get(s.name)?.lastFailure;
      if (why !== undefined) return errorOfForward(s.name, why);
    }
    return undefined;
  };
  manager.on('event', (e: TunnelEvent) => {
    renderer.event(e);
    if (e.type === 'forward-state') {
      const list = manager.status();
      renderer.status(list);
      if (upOnce && list.every((s) => s.state === 'failed')) allFailed?.();
    }
  });

  let refresh: ReturnType<CliIo['clock']['setTimeout']> | undefined;
  const tick = (): void => {
    renderer.status(manager.status());
    refresh = io.clock.setTimeout(tick, options.refreshMs ?? 1000);
  };

  const stopAll = async (): Promise<void> => {
    if (refresh !== undefined) io.clock.clearTimeout(refresh);
    renderer.stopping();
    const forced = new Promise<void>((resolve) => (forceExit = resolve));
    await Promise.race([manager.stop(), forced]);
    renderer.close(manager.status());
  };

  try {
    for (const spec of options.specs) manager.add(spec);
    renderer.info(`starting ${options.specs.length} forward${options.specs.length === 1 ? '' : 's'}…`);
    // On a terminal the table shows progress (starting, retrying) from the first moment.
    if (io.isTTY) tick();
    let timer: ReturnType<CliIo['clock']['setTimeout']> | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = io.clock.setTimeout(() => resolve('timeout'), options.timeoutMs)),
    );
    const outcome = await Promise.race([manager.start().then(() => 'started' as const), timedOut, aborted]);
    if (timer !== undefined) io.clock.clearTimeout(timer);

    if (outcome === 'signal') {
      const failing = failingError();
      await stopAll();
      if (failing !== undefined) throw failing;
      return SIGNAL_EXIT[signalName ?? 'SIGINT'];
    }
    const statuses = manager.status();
    if (outcome === 'timeout') {
      const pending = statuses.filter((s) => !isUp(s)).map((s) => s.name);
      await stopAll();
      throw new TunnelError(
        'ERR_CLI_TIMEOUT',
        `not ready within ${formatDuration(options.timeoutMs)}: ${pending.join(', ')}`,
        {
          details: { forwards: pending.join(',') },
        },
      );
    }
    const failed = statuses.filter((s) => !isUp(s));
    const first = failed[0];
    if (first !== undefined && (options.requireAll || failed.length === statuses.length)) {
      await stopAll();
      throw shownError(first);
    }
    upOnce = true;
    const up = statuses.filter(isUp);
    for (const s of up) renderer.cliEvent('ready', readySummary(s), describeUp(s, specByName.get(s.name)));
    renderer.status(manager.status());

    let code = 0;
    if (options.whileUp !== undefined) {
      code = await options.whileUp(up, abort.signal);
    } else {
      const why = await Promise.race([aborted, everyForwardFailed]);
      if (why === 'signal') {
        // Stopped on purpose: 0, unless a forward was down and retrying at that moment.
        const failing = failingError();
        await stopAll();
        if (failing !== undefined) throw failing;
        return 0;
      }
      if (why === 'failed') {
        const last = manager.status()[0];
        await stopAll();
        if (last !== undefined) throw shownError(last);
        return 1;
      }
    }
    await stopAll();
    return code;
  } finally {
    if (refresh !== undefined) io.clock.clearTimeout(refresh);
    for (const u of unsubscribe) u();
    // Make sure nothing is left listening whatever happened above (idempotent).
    await Promise.race([manager.stop(), new Promise<void>((r) => (forceExit = r))]).catch(() => undefined);
  }
}
