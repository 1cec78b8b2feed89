/** TCP servers for tests: bound to 127.0.0.1:0, every socket destroyed and the server closed in teardown. */
import { once } from 'node:events';
import { createServer, type Server, type ServerOpts, type Socket } from 'node:net';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface LoopbackServer {
  port: number;
  server: Server;
  sockets: Set<Socket>;
}

/** Listen with `onConnection`; the socket set is tracked so teardown never waits on a live client. */
export async function startLoopbackServer(
  t: Teardown,
  onConnection: (s: Socket) => void,
  options: ServerOpts = {},
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer(options, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return { port: a.port, server, sockets };
}

/** An echo server; with `allowHalfOpen` it answers FIN with FIN after echoing everything. */
export function startEchoServer(t: Teardown, options: ServerOpts = {}): Promise<LoopbackServer> {
  return startLoopbackServer(t, (s) => s.pipe(s), options);
}
