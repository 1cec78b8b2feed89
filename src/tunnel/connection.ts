/**
 * One local TCP connection and how its bytes reach a session.
 *
 * Mux mode: a new smux stream per connection; `pipe` in both directions gives backpressure
 * (a full stream window holds the socket's reads, a slow local reader holds the stream) and
 * half-close (local EOF → `stream.end()` → smux FIN; remote FIN → 'end' → `socket.end()`).
 *
 * Lost means reset: the local socket gets a FIN only after the peer's smux FIN (the remote
 * side finished cleanly). A connection whose session is lost, or which is aborted for any other
 * reason before that, is closed with a TCP RST (`resetAndDestroy`), so a client reading to EOF
 * can never take a cut-off transfer for a complete one.
 * Basic mode: the session's data channel carries this one connection, through the same
 * `pipe`s over a DataChannelDuplex (one per connection); local EOF sends Flag DisconnectToPort
 * (basic mode cannot express half-close) and frees the session for the next.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DataChannelDuplex } from '../session/data-channel-duplex.js';
import { tickCorker } from '../session/tick-cork.js';
import { FLAG_DISCONNECT_TO_PORT, type ChannelPort, type MuxStreamPort } from './session-ports.js';

export interface ConnectionHooks {
  /** Bytes from the remote side written to the local socket. */
  onBytesIn(n: number): void;
  /** Bytes read from the local socket and sent to the remote side. */
  onBytesOut(n: number): void;
  /** Remote ended the stream (FIN). Return true to close the local socket at once. */
  onRemoteEnd(conn: Connection): boolean;
  /** Called once when the local socket has closed. */
  onClose(conn: Connection, error: Error | undefined): void;
}

export class Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly openedAt: number;
  bytesIn = 0;
  bytesOut = 0;
  #closed = false;
  /** The peer's FIN arrived and `socket.end()` was called: the data is complete, let it flush. */
  #endingCleanly = false;
  #error: Error | undefined;
  #detach: () => void = () => {};

  constructor(id: number, socket: Socket, openedAt: number) {
    this.id = id;
    this.socket = socket;
    this.openedAt = openedAt;
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** Why it was closed by us (abort), if it was. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Close the local socket now (session lost, shutdown) with a TCP reset, never a FIN. A
   * connection whose remote side already ended cleanly is left to flush and close by itself.
   */
  abort(error?: Error): void {
    if (error !== undefined && this.#error === undefined) this.#error = error;
    if (this.#endingCleanly) return;
    resetSocket(this.socket);
  }

  /** Reset the socket even if it is still flushing a clean end (shutdown deadline passed). */
  forceReset(): void {
    resetSocket(this.socket);
  }

  /** Run this connection over a fresh smux stream. */
  attachStream(stream: MuxStreamPort, hooks: ConnectionHooks): void {
    const socket = this.socket;
    this.#pipeBoth(stream, hooks);
    stream.on('end', () => {
      if (stream.finReceived === false) {
        // The session ended under the stream: what arrived may be cut short.
        resetSocket(socket);
        return;
      }
      this.#endingCleanly = true;
      if (hooks.onRemoteEnd(this)) socket.end(() => socket.destroy());
      else socket.end();
    });
    socket.on('error', () => stream.destroy());
    socket.once('close', () => {
      // Both directions done (or reset): the stream has nothing left to carry.
      if (!stream.destroyed) stream.destroy();
      this.#finish(hooks);
    });
  }

  /**
   * Run this connection directly over a basic-mode data channel, through a DataChannelDuplex of
   * its own (the adapter the smux session runs over), so backpressure is the pipes' in both
   * directions. The channel outlives the connection: the duplex is destroyed (listeners off,
   * receiving resumed) when the connection is done with it, and the next connection gets a new one.
   *
   * - local EOF: our side of the socket ends too (basic mode cannot half-close); once every byte
   *   read from the socket has gone to `sendData`, Flag DisconnectToPort tells the agent to close
   *   its destination connection, and only then is the connection reported closed (the session
   *   is free for the next one).
   * - channel closed or failed under the connection: TCP reset, no flag.
   * - `detach()` (the session died): the duplex goes, no flag is sent.
   */
  attachChannel(channel: ChannelPort, hooks: ConnectionHooks): void {
    const socket = this.socket;
    const duplex = new DataChannelDuplex(channel);
    let detached = false;
    let localDone = false;
    this.#detach = () => {
      if (detached) return;
      detached = true;
      duplex.destroy();
    };
    /** Inbound bytes for a socket that takes no more are dropped, not held against the channel. */
    const discardInbound = (): void => {
      if (localDone) return;
      localDone = true;
      duplex.unpipe(socket);
      duplex.resume();
    };
    this.#pipeBoth(duplex, hooks, () => !localDone);
    duplex.on('end', () => {
      // channel_closed while the connection was live: the session is gone, whatever arrived
      // may be cut short.
      detached = true;
      resetSocket(socket);
    });
    socket.on('end', () => {
      discardInbound();
      socket.end();
    });
    socket.once('close', () => {
      discardInbound();
      // The pipe ends the duplex on EOF; a socket that errored or was reset never got there.
      if (!duplex.destroyed && !duplex.writableEnded) duplex.end();
      let done = false;
      const flushed = (): void => {
        if (done) return;
        done = true;
        const live = !detached;
        this.#detach();
        // Tell the agent to close its destination connection; the session stays for the next one.
        if (live) {
          try {
            channel.sendFlag(FLAG_DISCONNECT_TO_PORT);
          } catch {
            // The channel is already gone; nothing to tell.
          }
        }
        this.#finish(hooks);
      };
      if (duplex.destroyed || duplex.writableFinished) flushed();
      else {
        duplex.once('finish', flushed);
        duplex.once('close', flushed);
      }
    });
  }

  /** Basic mode: stop using the channel without sending DisconnectToPort (session died). */
  detach(): void {
    this.#detach();
  }

  /**
   * The wiring both modes share: `pipe` both ways (backpressure), byte counters, and errors
   * mapped to a reset. The remote's 'end' is the caller's: the local socket never gets a FIN
   * from the pipe (`end: false`), only from a caller that knows the data is complete.
   */
  #pipeBoth(remote: Duplex, hooks: ConnectionHooks, countIn: () => boolean = () => true): void {
    const socket = this.socket;
    socket.on('data', (b: Buffer) => {
      this.bytesOut += b.length;
      hooks.onBytesOut(b.length);
    });
    // Runs before the pipe's own 'data' listener writes `b`: the first chunk of a turn corks the
    // socket, so the ≤ 1 KiB chunks one websocket read becomes leave in one writev.
    const cork = tickCorker(socket);
    remote.on('data', (b: Buffer) => {
      cork();
      if (!countIn()) return;
      this.bytesIn += b.length;
      hooks.onBytesIn(b.length);
    });
    remote.on('error', (err: Error) => {
      if (this.#error === undefined) this.#error = err;
      resetSocket(socket);
    });
    socket.on('error', (err: Error) => {
      if (this.#error === undefined) this.#error = err;
    });
    socket.pipe(remote);
    remote.pipe(socket, { end: false });
  }

  #finish(hooks: ConnectionHooks): void {
    this.#endingCleanly = false;
    if (this.#closed) return;
    this.#closed = true;
    hooks.onClose(this, this.#error);
  }
}

/** RST instead of FIN (Node >= 18.3); a socket that is already gone is left alone. */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.readyState === 'closed') socket.destroy();
  else socket.resetAndDestroy();
}
