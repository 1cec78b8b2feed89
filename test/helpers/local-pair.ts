/**
 * A local TCP connection for tunnel tests: a listener like the tunnel's (127.0.0.1:0,
 * allowHalfOpen) whose accepted socket goes to the code under test while the test plays the
 * client, and a judge that tells how the client's connection ended: FIN or reset.
 */
import { once, type EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { startLoopbackServer, type Teardown } from './loopback.js';

export interface Local {
  client: Socket;
  socket: Socket;
}

/** A listener like the tunnel's (allowHalfOpen); each call connects one client and returns both ends. */
export async function listen(t: Teardown): Promise<() => Promise<Local>> {
  const accepted: Socket[] = [];
  const waiting: Array<(s: Socket) => void> = [];
  const srv = await startLoopbackServer(
    t,
    (s) => {
      const w = waiting.shift();
      if (w !== undefined) w(s);
      else accepted.push(s);
    },
    { allowHalfOpen: true },
  );
  const clients = new Set<Socket>();
  t.teardown(() => {
    for (const c of clients) c.destroy();
  });
  return async () => {
    const client = connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
    clients.add(client);
    const socket = await new Promise<Socket>((resolve) => {
      const s = accepted.shift();
      if (s !== undefined) resolve(s);
      else waiting.push(resolve);
    });
    if (client.connecting) await once(client, 'connect');
    return { client, socket };
  };
}

export interface Ending {
  end: 'fin' | 'reset';
  data: Buffer;
  code?: string;
}

/**
 * Reads the client to its end and tells FIN from reset. Node's libuv can report a reset that
 * arrives with bytes unread as a clean EOF, so after 'end' the client writes once (it is half-open):
 * after a FIN the write succeeds, after a reset it fails (ECONNRESET / EPIPE).
 * `readFrom` delays reading (to let the other side's buffers fill).
 */
export function judge(client: Socket, readFrom?: Promise<unknown>): Promise<Ending> {
  const chunks: Buffer[] = [];
  let code: string | undefined;
  client.on('error', (e: NodeJS.ErrnoException) => (code ??= e.code ?? 'error'));
  if (readFrom !== undefined) {
    client.pause();
    void readFrom.then(() => client.resume());
  }
  client.on('data', (b: Buffer) => chunks.push(b));
  return new Promise((resolve) => {
    const done = (): void => {
      const data = Buffer.concat(chunks);
      resolve(code === undefined ? { end: 'fin', data } : { end: 'reset', data, code });
    };
    client.on('end', () => {
      if (code !== undefined) return;
      client.write(Buffer.from('?'), (err) => {
        if (err !== undefined && err !== null) code ??= (err as NodeJS.ErrnoException).code ?? 'error';
        done();
      });
    });
    client.on('close', () => {
      if (code !== undefined) done();
    });
  });
}

/**
 * Reads at least `n` bytes from a readable (the remote end of the stream, or the client) without
 * ending it; later bytes go to whichever other 'data' listener there is.
 */
export function readBytes(r: NodeJS.ReadableStream, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got < n) return;
      r.off('data', onData);
      r.off('end', onEnd);
      resolve(Buffer.concat(chunks));
    };
    const onEnd = (): void => {
      r.off('data', onData);
      reject(new Error(`ended after ${got} of ${n} bytes`));
    };
    r.on('data', onData);
    r.on('end', onEnd);
  });
}

export function collect(r: NodeJS.ReadableStream): { data(): Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  r.on('data', (c: Buffer) => chunks.push(c));
  return { data: () => Buffer.concat(chunks), ended: once(r as EventEmitter, 'end').then(() => undefined) };
}
