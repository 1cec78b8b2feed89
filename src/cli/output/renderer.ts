/**
 * How a running `tunnel` reports: a live status table on a terminal, plain lines when piped,
 * NDJSON events with `--json` (and nothing else on stdout). Human text goes to stderr except
 * the table and the plain status lines, which are the command's output.
 */
import type { ForwardStatus, TunnelEvent } from '../../tunnel/events.js';
import type { CliIo, OutputStream } from '../io.js';
import { fitTable, formatAddress, formatBytes, formatBytesShort, truncate } from './format.js';
import { redactKeys } from './redact.js';
import { adviceForCode } from '../report.js';

export type OutputMode = 'tty' | 'plain' | 'json';

export interface RendererOptions {
  mode: OutputMode;
  /** --quiet: only errors. */
  quiet: boolean;
  /** --verbose: connection and session details too. */
  verbose: boolean;
}

export interface Renderer {
  /** Prints human text (a forward's failure line included): false for --json. */
  readonly human: boolean;
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
  /** The forwards are being stopped on purpose: the connections they cut are not news. */
  stopping(): void;
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
  readonly human = false;
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
  stopping(): void {}
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function addressList(v: unknown, port: unknown): string | undefined {
  if (!Array.isArray(v)) return undefined;
  const items: readonly unknown[] = v;
  const parts: string[] = [];
  for (const a of items) {
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
export function describeEvent(e: TunnelEvent, verbose: boolean, stopping = false): string | undefined {
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
      if (state === 'failed') {
        // The forward's error, said once, with its hint (the command's exit does not repeat it).
        const code = str(e['code']);
        const message = str(e['message']) ?? '';
        const hint = code === undefined ? undefined : adviceForCode(code, message);
        return `${f}failed: ${message}${code === undefined ? '' : ` [${code}]`}${hint === undefined ? '' : `\n  hint: ${hint}`}`;
      }
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
      // The websocket dropped; the data channel resumes the same session (ResumeSession).
      return verbose
        ? `${f}session ${str(e['sessionId']) ?? ''} lost its connection to the service; resuming`
        : `${f}connection to the service lost; resuming the session`;
    case 'session-resumed':
      return verbose ? `${f}session ${str(e['sessionId']) ?? ''} resumed` : `${f}session resumed`;
    case 'connection-opened':
      return verbose
        ? `${f}connection ${str(e['connection']) ?? ''} from ${str(e['remoteAddress']) ?? '?'}:${str(e['remotePort']) ?? '?'}`
        : undefined;
    case 'connection-closed':
      // A connection that ended in an error (refused while no session could carry it, or cut
      // by a lost session) is worth a line even when not verbose.
      if (!verbose && !stopping && e['error'] !== undefined)
        return `${f}connection ${str(e['connection']) ?? ''}: ${str(e['error']) ?? ''}`;
      return verbose
        ? `${f}connection ${str(e['connection']) ?? ''} closed (in ${formatBytes(Number(e['bytesIn'] ?? 0))}, out ${formatBytes(Number(e['bytesOut'] ?? 0))})`
        : undefined;
    default:
      return verbose ? `${f}${e.type}` : undefined;
  }
}

/**
 * `problem`: printed even with --quiet (stderr). `notice`: what happened to the connection to
 * the service or to a client (reconnecting, resumed, a refused connection): stderr, hidden by
 * --quiet. `status`: the forward's own progress (stdout).
 */
export function lineKind(e: TunnelEvent): 'problem' | 'notice' | 'status' {
  if (
    e.type === 'warning' ||
    e.type === 'connect-error' ||
    e.type === 'retry-scheduled' ||
    e.type === 'needs-login' ||
    (e.type === 'forward-state' && e['state'] === 'failed') ||
    (e.type === 'listening' && e['fellBack'] === true)
  ) {
    return 'problem';
  }
  if (
    e.type === 'session-reconnecting' ||
    e.type === 'session-resumed' ||
    (e.type === 'forward-state' && (e['state'] === 'reconnecting' || e['previous'] === 'reconnecting')) ||
    (e.type === 'connection-closed' && e['error'] !== undefined)
  ) {
    return 'notice';
  }
  return 'status';
}

/** Plain lines, for pipes and logs. Status lines on stdout, problems on stderr. */
class PlainRenderer implements Renderer {
  readonly human = true;
  constructor(
    private readonly io: CliIo,
    private readonly options: RendererOptions,
  ) {}
  #stopping = false;
  stopping(): void {
    this.#stopping = true;
  }
  event(e: TunnelEvent): void {
    const text = describeEvent(e, this.options.verbose, this.#stopping);
    if (text === undefined) return;
    const kind = lineKind(e);
    if (this.options.quiet && kind !== 'problem') return;
    (kind === 'status' ? this.io.stdout : this.io.stderr).write(`${text}\n`);
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

/**
 * What the table shows as the state: a ready forward with no session yet (lazy, or after its
 * idle close) is `idle`: nothing is connected to the instance until a client connects.
 */
export function displayState(s: ForwardStatus): string {
  return s.state === 'ready' && s.sessions.length === 0 ? 'idle' : s.state;
}

/** Local addresses, short: the default pair 127.0.0.1 + ::1 on one port is `localhost:PORT`. */
export function localColumn(s: ForwardStatus): string {
  const a = s.addresses;
  const [first, second] = a;
  if (
    a.length === 2 &&
    first !== undefined &&
    second !== undefined &&
    first.port === second.port &&
    new Set([first.address, second.address]).size === 2 &&
    [first.address, second.address].every((x) => x === '127.0.0.1' || x === '::1')
  ) {
    return `localhost:${first.port}`;
  }
  return a.map((x) => formatAddress(x.address, x.port)).join(' ') || '-';
}

/** IN/OUT are totals, ↓/s and ↑/s the current rates (binary units: K = KiB). */
export const STATUS_HEADER = ['FORWARD', 'LOCAL', 'REMOTE', 'STATE', 'SESS', 'CONN', 'IN', 'OUT', '↓/s', '↑/s'];

export function statusRows(list: readonly ForwardStatus[]): string[][] {
  const rows: string[][] = [[...STATUS_HEADER]];
  for (const s of list) {
    rows.push([
      s.name,
      localColumn(s),
      // The destination first (a cut keeps it), then the instance that dials it.
      `${s.remote} via ${s.target ?? '?'}`,
      displayState(s),
      String(s.sessions.length),
      `${s.connections.active}/${s.connections.total}`,
      formatBytesShort(s.bytesIn),
      formatBytesShort(s.bytesOut),
      formatBytesShort(s.rateInBps),
      formatBytesShort(s.rateOutBps),
    ]);
  }
  return rows;
}

/**
 * The table's lines for a terminal `width` columns wide: FORWARD, LOCAL and REMOTE give way
 * (cut with …) so the numbers always show; a line that still does not fit is cut.
 */
export function statusLines(list: readonly ForwardStatus[], width: number): string[] {
  // REMOTE gives way first (the ready line has it in full), then FORWARD, then LOCAL.
  return fitTable(statusRows(list), width, [2, 0, 1], [8, 6, 9]).map((l) => truncate(l, width));
}

/**
 * Live table on a terminal: redrawn in place (cursor up + clear to end of screen); log lines
 * are printed above it.
 */
class TableRenderer implements Renderer {
  readonly human = true;
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
    // Back to column 0 first: the terminal may have echoed `^C` (or other typing) after the
    // table, and moving up from that column would leave the table's first columns behind.
    return this.#drawnLines > 0 ? `\r\x1b[${this.#drawnLines}A\x1b[J` : '\r\x1b[J';
  }
  #draw(prefix: string): void {
    const lines = statusLines(this.#last, this.#out.columns ?? 80);
    this.#out.write(`${this.#clear()}${prefix}${lines.join('\n')}\n`);
    this.#drawnLines = lines.length;
  }
  #stopping = false;
  stopping(): void {
    this.#stopping = true;
  }
  event(e: TunnelEvent): void {
    const text = describeEvent(e, this.options.verbose, this.#stopping);
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
