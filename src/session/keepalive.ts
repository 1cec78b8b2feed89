/**
 * Websocket keep-alive and dead-peer detection for one connection of the data channel.
 *
 * INTEROP: upstream pings with the payload `keepalive` at once and then every 5 minutes, and
 * never gives up on a silent peer. We ping more often (default 10 s) and call the connection
 * dead when nothing (a pong or any message) was heard for `deadPeerTimeoutMs` (default 25 s):
 * a gateway that stops answering without closing would otherwise hang every local connection.
 * One instance serves one websocket; a reconnect makes a new one.
 */
import type { Clock, TimerHandle } from '../clock.js';

export interface KeepaliveOptions {
  pingIntervalMs: number;
  deadPeerTimeoutMs: number;
}

export class Keepalive {
  readonly #clock: Clock;
  readonly #o: KeepaliveOptions;
  readonly #ping: () => void;
  readonly #onDead: (silentMs: number) => void;
  #lastHeardAt = 0;
  #pingTimer: TimerHandle | undefined;
  #deadTimer: TimerHandle | undefined;
  #stopped = false;

  constructor(clock: Clock, options: KeepaliveOptions, ping: () => void, onDead: (silentMs: number) => void) {
    this.#clock = clock;
    this.#o = options;
    this.#ping = ping;
    this.#onDead = onDead;
  }

  /** The connection just opened: count it as heard, ping now, arm both timers. */
  start(): void {
    this.#lastHeardAt = this.#clock.now();
    this.#pingNow();
    this.#armDeadPeer();
  }

  /** A pong or a message arrived. */
  heard(): void {
    this.#lastHeardAt = this.#clock.now();
  }

  stop(): void {
    this.#stopped = true;
    for (const h of [this.#pingTimer, this.#deadTimer]) if (h !== undefined) this.#clock.clearTimeout(h);
    this.#pingTimer = undefined;
    this.#deadTimer = undefined;
  }

  #pingNow(): void {
    if (this.#stopped) return;
    try {
      this.#ping();
    } catch {
      // A failing socket is detected through its 'close' event.
    }
    this.#pingTimer = this.#clock.setTimeout(() => {
      this.#pingTimer = undefined;
      this.#pingNow();
    }, this.#o.pingIntervalMs);
  }

  #armDeadPeer(): void {
    const timeoutMs = this.#o.deadPeerTimeoutMs;
    const due = this.#lastHeardAt + timeoutMs - this.#clock.now();
    this.#deadTimer = this.#clock.setTimeout(
      () => {
        this.#deadTimer = undefined;
        if (this.#stopped) return;
        const silentMs = this.#clock.now() - this.#lastHeardAt;
        if (silentMs >= timeoutMs) {
          this.stop();
          this.#onDead(silentMs);
        } else {
          this.#armDeadPeer();
        }
      },
      Math.max(0, due),
    );
  }
}
