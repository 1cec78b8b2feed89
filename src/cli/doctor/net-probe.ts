/**
 * Network probes for `tunnel doctor`: resolve a host, open TCP (directly or through an HTTP
 * proxy's CONNECT), complete TLS, and read a service's `Date` header from one unsigned request.
 * Every step is bounded by the caller's AbortSignal; sockets are always destroyed.
 */
import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface ProbeStep {
  ok: boolean;
  /** What went wrong, in words (with the system error code). */
  error?: string;
  code?: string;
}

function describeError(err: unknown): { error: string; code?: string } {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'DNS lookup timed out',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'connection reset',
  };
  const text = (code !== undefined ? words[code] : undefined) ?? (e instanceof Error ? e.message : String(err));
  return { error: code === undefined ? text : `${text} (${code})`, ...(code === undefined ? {} : { code }) };
}

/** All addresses of `host` (an IP literal resolves to itself). */
export async function resolveAll(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return [bare];
  const all = await lookup(bare, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

export function isPrivateAddress(ip: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.\d+\.\d+$/.exec(ip);
  if (v4 !== null) {
    const a = Number(v4[1]);
    const b = Number(v4[2]);
    return (
      a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)
    );
  }
  return /^f[cd][0-9a-f]{2}:/i.test(ip);
}

function withAbort<T extends Socket>(socket: T, signal: AbortSignal, ready: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(new Error('aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
    socket.once(ready, () => {
      signal.removeEventListener('abort', onAbort);
      resolve(socket);
    });
  });
}

/** TCP to host:port, or a tunnel through `proxy` (HTTP CONNECT). */
export async function openTcp(
  host: string,
  port: number,
  proxy: URL | undefined,
  signal: AbortSignal,
): Promise<Socket> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (proxy === undefined) return withAbort(connect({ host: bare, port }), signal, 'connect');
  const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const socket = await withAbort(connect({ host: proxy.hostname, port: proxyPort }), signal, 'connect');
  const authority = bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
  const auth =
    proxy.username === ''
      ? ''
      : `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`;
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  const head = await readHead(socket, signal);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.statusLine)?.[1] ?? 0);
  if (status !== 200) {
    socket.destroy();
    throw new Error(`the proxy refused CONNECT ${authority}: ${head.statusLine}`);
  }
  return socket;
}

/** TLS over `socket` with certificate and name checks (Node's trust store plus NODE_EXTRA_CA_CERTS). */
export function startTls(socket: Socket, servername: string, signal: AbortSignal): Promise<TLSSocket> {
  const bare = servername.replace(/^\[|\]$/g, '');
  return withAbort(
    tlsConnect({ socket, ...(isIP(bare) === 0 ? { servername: bare } : {}), ALPNProtocols: ['http/1.1'] }),
    signal,
    'secureConnect',
  );
}

interface Head {
  statusLine: string;
  headers: Map<string, string>;
}

/** Read an HTTP response head (at most 64 KiB). Data after the head is left unread. */
function readHead(socket: Socket, signal: AbortSignal): Promise<Head> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error, head?: Head): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else if (head !== undefined) resolve(head);
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 65536) done(new Error('response head larger than 64 KiB'));
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
      }
      socket.pause();
      done(undefined, { statusLine: lines[0] ?? '', headers });
    };
    const onError = (err: Error): void => done(err);
    const onEnd = (): void => done(new Error('the connection closed before a response'));
    const onAbort = (): void => done(new Error('aborted'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface DateProbe {
  /** The server's `Date`, epoch ms. */
  serverMs: number;
  /** Local wall time halfway through the request, epoch ms. */
  localMs: number;
  status: string;
}

/**
 * One unsigned `POST /` to an AWS JSON endpoint (it answers 400 MissingAuthenticationToken, with
 * a `Date` header, as every AWS endpoint does). Returns undefined when no Date header came back.
 */
export async function probeDate(
  endpoint: URL,
  proxy: URL | undefined,
  wallNow: () => number,
  signal: AbortSignal,
): Promise<DateProbe | undefined> {
  const https = endpoint.protocol === 'https:';
  const port = Number(endpoint.port || (https ? 443 : 80));
  let socket: Socket = await openTcp(endpoint.hostname, port, proxy, signal);
  try {
    if (https) socket = await startTls(socket, endpoint.hostname, signal);
    const t0 = wallNow();
    socket.write(
      `POST / HTTP/1.1\r\nHost: ${endpoint.host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AmazonSSM.DescribeInstanceInformation\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    );
    const head = await readHead(socket, signal);
    const t1 = wallNow();
    const date = head.headers.get('date');
    const serverMs = date === undefined ? NaN : Date.parse(date);
    if (Number.isNaN(serverMs)) return undefined;
    return { serverMs, localMs: (t0 + t1) / 2, status: head.statusLine };
  } finally {
    socket.destroy();
  }
}

/** Resolve, connect, TLS: each step's outcome, stopping at the first failure. */
export async function probeEndpoint(
  host: string,
  port: number,
  tls: boolean,
  proxy: URL | undefined,
  signal: AbortSignal,
): Promise<{ addresses: string[]; resolve: ProbeStep; connect?: ProbeStep; tls?: ProbeStep }> {
  let addresses: string[] = [];
  if (proxy === undefined) {
    try {
      addresses = await resolveAll(host);
    } catch (err) {
      return { addresses, resolve: { ok: false, ...describeError(err) } };
    }
  }
  let socket: Socket;
  try {
    socket = await openTcp(host, port, proxy, signal);
  } catch (err) {
    return { addresses, resolve: { ok: true }, connect: { ok: false, ...describeError(err) } };
  }
  if (!tls) {
    socket.destroy();
    return { addresses, resolve: { ok: true }, connect: { ok: true } };
  }
  try {
    const t = await startTls(socket, host, signal);
    t.destroy();
    return { addresses, resolve: { ok: true }, connect: { ok: true }, tls: { ok: true } };
  } catch (err) {
    socket.destroy();
    return { addresses, resolve: { ok: true }, connect: { ok: true }, tls: { ok: false, ...describeError(err) } };
  }
}
