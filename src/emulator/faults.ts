/**
 * Fault injection on the emulated message gateway.
 *
 * The real MGS relays records unchanged; networks and the service itself do not always. These
 * knobs (see `FaultSettings` in `options.ts` and docs/emulator.md "Faults") reproduce what a
 * client meets in the field, deterministically from a seed:
 *
 * - websocket drops (`dropAfterMessages`, `dropAfterBytes`, `dropEveryMs`): the TCP connection is
 *   destroyed with no close frame and no `channel_closed`, as when a NAT or proxy loses it. The
 *   client must call ResumeSession and re-attach;
 * - `byeAfterMs`: a clean websocket close with code 1000 "Bye", as the service does roughly hourly;
 * - per record, in both directions: drop, duplicate, reorder (within a window) and delay at given
 *   rates, and a fixed delay on `acknowledge` records (`ackDelayMs`).
 *
 * Records the gateway originates (`channel_closed`) are never subject to faults.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.js';
import type { FaultSettings } from './options.js';

export type Direction = 'c2s' | 's2c';

export type FaultKind =
  | 'drop-after-messages'
  | 'drop-after-bytes'
  | 'drop-every'
  | 'bye'
  | 'drop'
  | 'duplicate'
  | 'reorder'
  | 'delay'
  | 'ack-delay';

export interface FaultEvent {
  kind: FaultKind;
  /** Direction of the record concerned (absent for socket-level faults). */
  dir?: Direction;
}

/** The seeded PRNG (mulberry32) that drives fault decisions. */
export { seededRandom as createRng } from '../random.js';

/** Derive a per-session seed from the emulator seed and a session id (FNV-1a 32). */
export function deriveSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Where records and socket faults go. */
export interface FaultSink {
  /** Hand one record on in `dir` (to the client socket for s2c, to the agent for c2s). */
  deliver(dir: Direction, frame: Buffer): void;
  /** Destroy the client's websocket abruptly (no close frame, no channel_closed). */
  dropSocket(kind: FaultKind): void;
  /** Close the client's websocket cleanly with code 1000 "Bye". */
  bye(): void;
}

export interface SessionFaultsOptions {
  clock: Clock;
  /** Read on every decision, so runtime changes apply at once. */
  settings(): FaultSettings;
  rng: () => number;
  sink: FaultSink;
}

/** Default reorder window (records) when `reorderWindow` is not set. */
export const DEFAULT_REORDER_WINDOW = 4;
/** Default delay (ms) for `delayRate` when `delayMs` is not set. */
export const DEFAULT_DELAY_MS = 50;
/** A held (reordered) record is released after this long even if no later record passes it. */
export const REORDER_FLUSH_MS = 20;

interface Held {
  frame: Buffer;
  remaining: number;
  timer: TimerHandle;
}

/** Offset and size of MessageType in a record (see protocol/ssm): used to spot acks cheaply. */
const MESSAGE_TYPE_OFFSET = 4;
const MESSAGE_TYPE_SIZE = 32;

/** True when the record's MessageType is `acknowledge` (without decoding the whole record). */
export function isAcknowledgeFrame(frame: Buffer): boolean {
  if (frame.length < MESSAGE_TYPE_OFFSET + MESSAGE_TYPE_SIZE) return false;
  return (
    frame.toString('latin1', MESSAGE_TYPE_OFFSET, MESSAGE_TYPE_OFFSET + MESSAGE_TYPE_SIZE).replace(/[\s\0]+$/, '') ===
    'acknowledge'
  );
}

/**
 * The faults of one session. `relay()` takes every record the gateway passes in either direction;
 * `attached()` / `detached()` bracket each client websocket. Events: `'fault'`(FaultEvent).
 */
export class SessionFaults extends EventEmitter {
  readonly #o: SessionFaultsOptions;
  #messages = 0;
  #bytes = 0;
  #droppedAfterMessages = false;
  #droppedAfterBytes = false;
  #socketTimers: TimerHandle[] = [];
  /** Clock time the current socket attached (undefined while detached). */
  #attachedAt: number | undefined;
  #pending = new Set<TimerHandle>();
  #held: Record<Direction, Held[]> = { c2s: [], s2c: [] };
  #closed = false;

  constructor(options: SessionFaultsOptions) {
    super();
    this.#o = options;
  }

  /** Messages and bytes relayed so far (both directions, before per-record faults). */
  get counters(): { messages: number; bytes: number } {
    return { messages: this.#messages, bytes: this.#bytes };
  }

  /** A client websocket was attached: arm the per-socket timers from the current settings. */
  attached(): void {
    this.#attachedAt = this.#o.clock.now();
    this.#armSocketTimers();
  }

  /**
   * The settings changed at run time: re-arm the per-socket timers of the attached socket, counted
   * from when it attached (a timer already overdue fires at once).
   */
  settingsChanged(): void {
    if (this.#attachedAt !== undefined && !this.#closed) this.#armSocketTimers();
  }

  /** The client websocket went away: per-socket timers stop. */
  detached(): void {
    this.#attachedAt = undefined;
    this.#clearSocketTimers();
  }

  #armSocketTimers(): void {
    this.#clearSocketTimers();
    const s = this.#o.settings();
    const { clock } = this.#o;
    const age = clock.now() - (this.#attachedAt ?? clock.now());
    if (s.dropEveryMs !== undefined && s.dropEveryMs > 0) {
      this.#socketTimers.push(
        clock.setTimeout(
          () => {
            this.#emit({ kind: 'drop-every' });
            this.#o.sink.dropSocket('drop-every');
          },
          Math.max(0, s.dropEveryMs - age),
        ),
      );
    }
    if (s.byeAfterMs !== undefined && s.byeAfterMs > 0) {
      this.#socketTimers.push(
        clock.setTimeout(
          () => {
            this.#emit({ kind: 'bye' });
            this.#o.sink.bye();
          },
          Math.max(0, s.byeAfterMs - age),
        ),
      );
    }
  }

  /** Pass one record through the faults. */
  relay(dir: Direction, frame: Buffer): void {
    if (this.#closed) return;
    const s = this.#o.settings();
    this.#messages += 1;
    this.#bytes += frame.length;
    const rng = this.#o.rng;

    if (s.dropRate !== undefined && s.dropRate > 0 && rng() < s.dropRate) {
      this.#emit({ kind: 'drop', dir });
      this.#afterRecord(dir, s);
      return;
    }
    const copies = s.duplicateRate !== undefined && s.duplicateRate > 0 && rng() < s.duplicateRate ? 2 : 1;
    if (copies === 2) this.#emit({ kind: 'duplicate', dir });

    let delayMs = 0;
    if (s.ackDelayMs !== undefined && s.ackDelayMs > 0 && isAcknowledgeFrame(frame)) {
      delayMs = s.ackDelayMs;
      this.#emit({ kind: 'ack-delay', dir });
    } else if (s.delayRate !== undefined && s.delayRate > 0 && rng() < s.delayRate) {
      delayMs = s.delayMs ?? DEFAULT_DELAY_MS;
      this.#emit({ kind: 'delay', dir });
    }

    if (delayMs > 0) {
      const timer = this.#o.clock.setTimeout(() => {
        this.#pending.delete(timer);
        for (let i = 0; i < copies; i++) this.#deliver(dir, frame);
      }, delayMs);
      this.#pending.add(timer);
    } else if (s.reorderRate !== undefined && s.reorderRate > 0 && rng() < s.reorderRate) {
      // Held back until `remaining` later records in the same direction have passed it.
      const window = Math.max(1, s.reorderWindow ?? DEFAULT_REORDER_WINDOW);
      const remaining = 1 + Math.floor(rng() * window);
      this.#emit({ kind: 'reorder', dir });
      for (let i = 0; i < copies; i++) this.#hold(dir, frame, remaining);
      this.#afterRecord(dir, s, copies);
      return;
    } else {
      for (let i = 0; i < copies; i++) this.#deliver(dir, frame);
    }
    this.#afterRecord(dir, s);
  }

  /** Stop every timer and forget held records. */
  close(): void {
    this.#closed = true;
    this.#clearSocketTimers();
    for (const t of this.#pending) this.#o.clock.clearTimeout(t);
    this.#pending.clear();
    for (const dir of ['c2s', 's2c'] as const) {
      for (const h of this.#held[dir]) this.#o.clock.clearTimeout(h.timer);
      this.#held[dir] = [];
    }
  }

  #hold(dir: Direction, frame: Buffer, remaining: number): void {
    const held: Held = {
      frame,
      remaining,
      timer: this.#o.clock.setTimeout(() => {
        const list = this.#held[dir];
        const i = list.indexOf(held);
        if (i >= 0) list.splice(i, 1);
        this.#deliver(dir, frame);
      }, REORDER_FLUSH_MS),
    };
    this.#held[dir].push(held);
  }

  /** Count down held records (a just-held record is skipped: `skipLast`) and the drop thresholds. */
  #afterRecord(dir: Direction, s: FaultSettings, skipLast = 0): void {
    const list = this.#held[dir];
    const upTo = list.length - skipLast;
    const release: Held[] = [];
    for (let i = 0; i < upTo; i++) {
      const h = list[i] as Held;
      h.remaining -= 1;
      if (h.remaining <= 0) release.push(h);
    }
    for (const h of release) {
      list.splice(list.indexOf(h), 1);
      this.#o.clock.clearTimeout(h.timer);
      this.#deliver(dir, h.frame);
    }
    if (
      !this.#droppedAfterMessages &&
      s.dropAfterMessages !== undefined &&
      s.dropAfterMessages > 0 &&
      this.#messages >= s.dropAfterMessages
    ) {
      this.#droppedAfterMessages = true;
      this.#emit({ kind: 'drop-after-messages' });
      this.#o.sink.dropSocket('drop-after-messages');
    } else if (
      !this.#droppedAfterBytes &&
      s.dropAfterBytes !== undefined &&
      s.dropAfterBytes > 0 &&
      this.#bytes >= s.dropAfterBytes
    ) {
      this.#droppedAfterBytes = true;
      this.#emit({ kind: 'drop-after-bytes' });
      this.#o.sink.dropSocket('drop-after-bytes');
    }
  }

  #deliver(dir: Direction, frame: Buffer): void {
    if (!this.#closed) this.#o.sink.deliver(dir, frame);
  }

  #clearSocketTimers(): void {
    for (const t of this.#socketTimers) this.#o.clock.clearTimeout(t);
    this.#socketTimers = [];
  }

  #emit(e: FaultEvent): void {
    this.emit('fault', e);
  }
}
