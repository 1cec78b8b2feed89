/**
 * One local TCP connection and how its bytes reach a session.
 *
 * Mux mode: a new smux stream per connection; `pipe` in both directions gives backpressure
 * (a full stream window holds the socket's reads, a slow local reader holds the stream) and
 * half-close (local EOF → `stream.end()` → smux FIN; remote FIN → 'end' → `socket.end()`).
 * Basic mode: the session's data channel carries this one connection; local EOF sends Flag
 * DisconnectToPort (basic mode cannot express half-close) and frees the session for the next.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FLAG_DISCONNECT_TO_PORT, type ChannelPort } from './session-ports.js';

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

  /** Close the local socket now (session lost, shutdown). */
  abort(error?: Error): void {
    if (error !== undefined && this.#error === undefined) this.#error = error;
    this.socket.destroy();
  }

  /** Run this connection over a fresh smux stream. */
  attachStream(stream: Duplex, hooks: ConnectionHooks): void {
    const socket = this.socket;
    socket.on('data', (b: Buffer) => {
      this.bytesOut += b.length;
      hooks.onBytesOut(b.length);
    });
    stream.on('data', (b: Buffer) => {
      this.bytesIn += b.length;
      hooks.onBytesIn(b.length);
    });
    stream.on('end', () => {
      if (hooks.onRemoteEnd(this)) socket.end(() => socket.destroy());
    });
    stream.on('error', (err: Error) => {
      if (this.#error === undefined) this.#error = err;
      socket.destroy();
    });
    socket.on('error', (err: Error) => {
      if (this.#error === undefined) this.#error = err;
      stream.destroy();
    });
    socket.once('close', () => {
      // Both directions done (or reset): the stream has nothing left to carry.
      if (!stream.destroyed) stream.destroy();
      this.#finish(hooks);
    });
    socket.pipe(stream);
    stream.pipe(socket);
  }

  /** Run this connection directly over a basic-mode data channel. */
  attachChannel(channel: ChannelPort, hooks: ConnectionHooks): void {
    const socket = this.socket;
    const onChannelData = (b: Buffer): void => {
      this.bytesIn += b.length;
      hooks.onBytesIn(b.length);
      if (!socket.write(b)) channel.pauseReceiving();
    };
    const onSocketDrain = (): void => channel.resumeReceiving();
    const onChannelDrain = (): void => {
      socket.resume();
    };
    const onSocketData = (b: Buffer): void => {
      this.bytesOut += b.length;
      hooks.onBytesOut(b.length);
      if (!channel.sendData(b)) socket.pause();
    };
    channel.on('data', onChannelData);
    channel.on('drain', onChannelDrain);
    socket.on('drain', onSocketDrain);
    socket.on('data', onSocketData);
    socket.on('end', () => socket.end());
    socket.on('error', (err: Error) => {
      if (this.#error === undefined) this.#error = err;
    });
    let detached = false;
    this.#detach = () => {
      if (detached) return;
      detached = true;
      channel.off('data', onChannelData);
      channel.off('drain', onChannelDrain);
      channel.resumeReceiving();
    };
    socket.resume();
    socket.once('close', () => {
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
    });
  }

  /** Basic mode: stop using the channel without sending DisconnectToPort (session died). */
  detach(): void {
    this.#detach();
  }

  #finish(hooks: ConnectionHooks): void {
    if (this.#closed) return;
    this.#closed = true;
    hooks.onClose(this, this.#error);
  }
}
