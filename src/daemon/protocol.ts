/**
 * The control protocol between `tunnel` commands and the background process: newline-delimited
 * JSON over the control socket (docs/cli.md, "Background mode"). Every message carries `v`, the
 * protocol version; a peer speaking another version gets an `ERR_DAEMON_PROTOCOL` reply naming
 * both versions, never a silent misunderstanding. The first request on a connection is `hello`
 * with the token from the 0600 token file; anything else first is refused.
 */
import type { ForwardStatus } from '../tunnel/events.js';
import type { ForwardSpec } from '../tunnel/forward-spec.js';

export const PROTOCOL_VERSION = 1;
/** One request or reply line may not exceed this; a longer one closes the connection. */
export const MAX_LINE_BYTES = 1 << 20;

/** What the background process needs to talk to SSM for one project (never logged). */
export interface AwsInput {
  region?: string;
  profile?: string;
  endpoint?: string;
  /** The client's AWS_* variables (credentials, endpoint URL, config file locations). */
  env: Record<string, string>;
}

export interface UpRequest {
  op: 'up';
  /** The config file the forwards came from (`(command line)` for SPECs). */
  project: string;
  cwd: string;
  aws: AwsInput;
  forwards: ForwardSpec[];
  /** Every forward name the project's config now has: forwards of this project not in it are removed. */
  configured?: string[];
  timeoutMs: number;
}

export type Request =
  | { op: 'hello'; token: string; client: string }
  | UpRequest
  | { op: 'status'; names?: string[] }
  | { op: 'down'; names?: string[]; project?: string; all?: boolean }
  | { op: 'subscribe'; names?: string[] };

export type RequestLine = Request & { v: number; id: number };

export interface BackgroundStatus extends ForwardStatus {
  project: string;
  /** Epoch ms when this forward was (re)started in the background. */
  since: number;
}

export type ChangeAction = 'added' | 'restarted' | 'unchanged' | 'removed' | 'stopped';
export interface Change {
  project: string;
  forward: string;
  action: ChangeAction;
}

export interface ErrorBody {
  code: string;
  message: string;
}

export interface UpReply {
  outcome: 'settled' | 'timeout';
  changes: Change[];
  /** The requested forwards, after the wait. */
  forwards: BackgroundStatus[];
}

export interface StatusReply {
  pid: number;
  version: string;
  startedAt: string;
  forwards: BackgroundStatus[];
}

export interface DownReply {
  changes: Change[];
  remaining: number;
  /** The process exits now (it holds nothing and was not started with `--keep`). */
  exiting?: boolean;
}

/** One line of the log file, and what `subscribe` streams. */
export interface LogRecord {
  seq: number;
  type: string;
  time: string;
  forward?: string;
  project?: string;
  [k: string]: unknown;
}

export type ReplyLine =
  | ({ v: number; id: number; ok: true } & Record<string, unknown>)
  | { v: number; id: number; ok: false; error: ErrorBody }
  | { v: number; event: LogRecord };

/** Split a byte stream into lines, bounded: a line over MAX_LINE_BYTES is an error. */
export class LineSplitter {
  #buf = '';
  push(chunk: string, onLine: (line: string) => void): void {
    this.#buf += chunk;
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl < 0) break;
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      if (line.trim() !== '') onLine(line);
    }
    if (this.#buf.length > MAX_LINE_BYTES) {
      this.#buf = '';
      throw new RangeError(`control message longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Version mismatch text, the same from either side. */
export function versionMismatch(theirs: unknown, ours: number, who: 'client' | 'server'): string {
  const t = typeof theirs === 'number' ? `v${theirs}` : 'no version';
  return who === 'server'
    ? `this background tunnel process speaks control protocol v${ours}, the client sent ${t}: the two are different tunnel versions; stop the background process (\`tunnel down --all\` with the version that started it, or kill its pid) and run \`tunnel up -d\` again`
    : `the background tunnel process speaks control protocol ${t}, this tunnel speaks v${ours}: it was started by another tunnel version; stop it (\`tunnel down --all\` with that version, or kill the pid in \`tunnel.pid\`) and run \`tunnel up -d\` again`;
}
