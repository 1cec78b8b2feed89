/**
 * Cork a socket for the rest of the current event-loop turn.
 *
 * Every data-channel record is small (a 120-byte header and at most 1024 payload bytes), and one
 * TCP read of the peer's websocket yields dozens of them. Written one by one, each record costs a
 * `write()` system call on the way out (the acks to the gateway, the bytes to a local socket, the
 * emulator's frames to the client). Corked on the first write of a turn and uncorked in
 * `process.nextTick`, everything that turn produced leaves in one `writev`. Nothing is held
 * longer than the turn, so latency does not change and no queue grows.
 */

/** The part of a socket (net.Socket, tls.TLSSocket) a corker needs. */
export interface CorkableSocket {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

/** Returns a function to call before each write: the first call of a turn corks, the turn's end uncorks. */
export function tickCorker(socket: CorkableSocket): () => void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    if (!socket.destroyed) socket.uncork();
  };
  return () => {
    if (corked || socket.destroyed) return;
    corked = true;
    socket.cork();
    process.nextTick(uncork);
  };
}

/** `ws` keeps its socket as `_socket`: the corker for it, or undefined if it is not a socket. */
export function wsSocketCorker(ws: object): (() => void) | undefined {
  const s: unknown = Reflect.get(ws, '_socket');
  if (typeof s !== 'object' || s === null) return undefined;
  const c = s as Partial<CorkableSocket>;
  return typeof c.cork === 'function' && typeof c.uncork === 'function' ? tickCorker(s as CorkableSocket) : undefined;
}
