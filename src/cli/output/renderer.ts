/**
 * How a running `tunnel` reports: a live status table on a terminal, plain lines when piped,
 * NDJSON events with `--json` (and nothing else on stdout). Human text goes to stderr except
 * the table and the plain status lines, which are the command's output.
 */
import type { ForwardStatus, TunnelEvent } from '../../tunnel/events.js';
import type { CliIo, OutputStream } from '../io.js';
import { formatAddress, formatBytes, formatRate, table } from './format.js';
import { redactKeys } from './redact.js';

export type OutputMode = 'tty' | 'plain' | 'json';

export interface RendererOptions {
  mode: OutputMode;
  /** --quiet: only errors. */
  quiet: boolean;
  /** --verbose: connection and session details too. */
  verbose: boolean;
}

export interface Renderer {
  /** An engine event. */
  event(e: TunnelEvent): void;
  /** A fresh status snapshot (the TTY table redraws from it). */
  status(list: readonly ForwardStatus[]): void;
  /** An informational line from the CLI itself (not printed in json mode, or with --quiet). */
  info(text: string): void;
  /** A CLI-level event for --json (`ready`, `command-exit`, …); plain/tty print `text` if given. */
  cliEvent(type: string, fields: Record<string, unknown>, text?: string): void;
  /** Final snapshot; stops redrawing. */
  close(final?: readonly ForwardStatus[]): void;
}

export function outputMode(io: CliIo, json: boolean): OutputMode {
  if (json) return 'json';
  return io.isTTY ? 'tty' : 'plain';
}

export function createRenderer(io: CliIo, options: RendererOptions): Renderer {
  switch (options.mode) {
    case 'json':
      return new JsonRenderer(io);
    case 'tty':
      return options.quiet ? new PlainRenderer(io, options) : new TableRenderer(io, options);
    case 'plain':
      return new PlainRenderer(io, options);
  }
}

function nowIso(io: CliIo): string {
  return new Date(io.clock.wallNow()).toISOString();
}

/** One JSON object per line on stdout; nothing else there. */
class JsonRenderer implements Renderer {
  constructor(private readonly io: CliIo) {}
  event(e: TunnelEvent): void {
    this.io.stdout.write(`${JSON.stringify(redactKeys(e))}\n`);
  }
  status(): void {}
  info(): void {}
  cliEvent(type: string, fields: Record<string, unknown>): void {
    this.event({ type, time: nowIso(this.io), ...fields });
  }
  close(): void {}
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function addressList(v: unknown, port: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  const parts: string[] = [];
  for (const a of v) {
    if (typeof a === 'string' && typeof port === 'number') parts.push(formatAddress(a, port));
    else if (
      typeof a === 'object' &&
      a !== null &&
      'address' in a &&
      'port' in a &&
      typeof a.address === 'string' &&
      typeof a.port === 'number'
    ) {
      parts.push(formatAddress(a.address, a.port));
    }
  }
  return parts.length === 0 ? undefined : parts.join(', ');
}

/**
 * Human text for an event, or undefined when it is not worth a line at this verbosity.
 * Field names follow docs/events.md.
 */
export function describeEvent(e: TunnelEvent, verbose: boolean): string | undefined {
  const f = e.forward === undefined ? '' : `${e.forward}: `;
  switch (e.type) {
    case 'listening': {
      // The CLI prints one summary line per forward once it is up; this is the early detail.
      const where = addressList(e['addresses'], e['port']) ?? str(e['port']) ?? '';
      if (e['fellBack'] === true) return `${f}preferred local port was busy; listening on ${where}`;
      return verbose ? `${f}listening on ${where}` : undefined;
    }
    case 'target-resolved':
      return verbose ? `${f}target ${str(e['target']) ?? '?'} is ${str(e['instanceId']) ?? '?'}` : undefined;
    case 'forward-state': {
      const state = str(e['state']) ?? '?';
      if (state === 'failed')
        return `${f}failed: ${str(e['message']) ?? ''}${e['code'] === undefined ? '' : ` [${str(e['code']) ?? ''}]`}`;
      if (state === 'reconnecting' || verbose) return `${f}${state}`;
      if (state === 'ready' && e['previous'] === 'reconnecting') return `${f}ready again`;
      return undefined;
    }
    case 'warning':
      return `${f}warning: ${str(e['message']) ?? ''}`;
    case 'needs-login':
      return `${f}${str(e['message']) ?? `sign-in needed: run \`${str(e['command']) ?? 'tunnel login'}\``}`;
    case 'retry-scheduled':
      return `${f}retrying in ${Math.round(Number(e['delayMs'] ?? 0))} ms: ${str(e['message']) ?? ''}`;
    case 'connect-error':
      return `${f}${str(e['message']) ?? 'the agent could not connect'}`;
    case 'session-started':
      return verbose
        ? `${f}session ${str(e['sessionId']) ?? ''} started (agent ${str(e['agentVersion']) ?? '?'}, ${str(e['mode']) ?? '?'})`
        : undefined;
    case 'session-ended':
      return verbose
        ? `${f}session ${str(e['sessionId']) ?? ''} ended${e['reason'] === undefined ? '' : `: ${str(e['reason']) ?? ''}`}`
        : undefined;
    case 'session-reconnecting':
    case 'session-resumed':
      return verbose ? `${f}${e.type.replace('session-', 'session ')} ${str(e['sessionId']) ?? ''}` : undefined;
    case 'connection-opened':
      return verbose
        ? `${f}connection ${str(e['connection']) ?? ''} from ${str(e['remoteAddress']) ?? '?'}:${str(e['remotePort']) ?? '?'}`
        : undefined;
    case 'connection-closed':
      return verbose
        ? `${f}connection ${str(e['connection']) ?? ''} closed (in ${formatBytes(Number(e['bytesIn'] ?? 0))}, out ${formatBytes(Number(e['bytesOut'] ?? 0))})`
        : undefined;
    default:
      return verbose ? `${f}${e.type}` : undefined;
  }
}

/** Plain lines, for pipes and logs. Status lines on stdout, problems on stderr. */
class PlainRenderer implements Renderer {
  constructor(
    private readonly io: CliIo,
    private readonly options: RendererOptions,
  ) {}
  event(e: TunnelEvent): void {
    const text = describeEvent(e, this.options.verbose);
    if (text === undefined) return;
    const problem =
      e.type === 'warning' ||
      e.type === 'connect-error' ||
      e.type === 'retry-scheduled' ||
      e.type === 'needs-login' ||
      (e.type === 'forward-state' && e['state'] === 'failed') ||
      (e.type === 'listening' && e['fellBack'] === true);
    if (this.options.quiet && !problem) return;
    (problem ? this.io.stderr : this.io.stdout).write(`${text}\n`);
  }
  status(): void {}
  info(text: string): void {
    if (!this.options.quiet) this.io.stderr.write(`${text}\n`);
  }
  cliEvent(_type: string, _fields: Record<string, unknown>, text?: string): void {
    if (text !== undefined && !this.options.quiet) this.io.stdout.write(`${text}\n`);
  }
  close(): void {}
}

export function statusRows(list: readonly ForwardStatus[]): string[][] {
  const rows: string[][] = [['FORWARD', 'LOCAL', 'REMOTE', 'STATE', 'CONN', 'IN', 'OUT', 'RATE']];
  for (const s of list) {
    const local = s.addresses.map((a) => formatAddress(a.address, a.port)).join(' ') || '-';
    rows.push([
      s.name,
      local,
      `${s.target ?? '?'} ${s.remote}`,
      s.state,
      `${s.connections.active}/${s.connections.total}`,
      formatBytes(s.bytesIn),
      formatBytes(s.bytesOut),
      `↓${formatRate(s.rateInBps)} ↑${formatRate(s.rateOutBps)}`,
    ]);
  }
  return rows;
}

/**
 * Live table on a terminal: redrawn in place (cursor up + clear to end of screen); log lines
 * are printed above it.
 */
class TableRenderer implements Renderer {
  #drawnLines = 0;
  #last: readonly ForwardStatus[] = [];
  #closed = false;
  readonly #out: OutputStream;
  constructor(
    private readonly io: CliIo,
    private readonly options: RendererOptions,
  ) {
    this.#out = io.stdout;
  }
  #clear(): string {
    return this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}A\x1b[J` : '';
  }
  #draw(prefix: string): void {
    const width = this.#out.columns ?? 120;
    const lines = table(statusRows(this.#last)).map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    this.#out.write(`${this.#clear()}${prefix}${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
  event(e: TunnelEvent): void {
    const text = describeEvent(e, this.options.verbose);
    if (text === undefined || this.#closed) return;
    // Log line above the table, then the table again.
    this.#draw(`${text}\n`);
  }
  status(list: readonly ForwardStatus[]): void {
    this.#last = list;
    if (!this.#closed) this.#draw('');
  }
  info(text: string): void {
    if (this.#closed) this.io.stderr.write(`${text}\n`);
    else this.#draw(`${text}\n`);
  }
  cliEvent(_type: string, _fields: Record<string, unknown>, text?: string): void {
    if (text !== undefined) this.info(text);
  }
  close(final?: readonly ForwardStatus[]): void {
    if (final !== undefined) this.#last = final;
    if (!this.#closed) this.#draw('');
    this.#closed = true;
  }
}
