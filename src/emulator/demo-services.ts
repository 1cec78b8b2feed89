/**
 * Demo services for `tunnel demo` and tests: a TCP echo server and a small HTTP server on
 * 127.0.0.1 (port 0), plus the destination mappings that put them behind an emulated instance's
 * ports (echo on 7, HTTP on 80), so `tunnel` forwards to them exactly as to a real instance.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { DestinationMapping } from './options.js';

export interface DemoServices {
  echo: { host: string; port: number };
  http: { host: string; port: number };
  /** Mappings for `EmulatorOptions.destinations`: `localhost:7` → echo, `localhost:80` → http. */
  destinations: DestinationMapping[];
  close(): Promise<void>;
}

export interface DemoServicesOptions {
  /** Instance id the mappings apply to; default `'*'` (every instance). */
  instance?: string;
  /** Instance ports; defaults 7 (echo) and 80 (http). */
  echoPort?: number;
  httpPort?: number;
}

/** Largest body `GET /bytes/<n>` serves (64 MiB). */
export const MAX_DEMO_BYTES = 64 * 1024 * 1024;

/** Deterministic demo bytes: byte i is (i * 31 + 7) & 0xff (cheap, easy to verify on the other side). */
export function demoBytes(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = ((offset + i) * 31 + 7) & 0xff;
  return b;
}

function handleHttp(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://demo');
  const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('hello from the tunnel demo instance\n');
  } else if (req.method === 'GET' && bytes?.[1] !== undefined) {
    const n = Math.min(Number(bytes[1]), MAX_DEMO_BYTES);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
    // Written in 64 KiB pieces with backpressure, so large bodies do not sit in memory.
    let off = 0;
    const pump = (): void => {
      while (off < n) {
        const len = Math.min(65536, n - off);
        const ok = res.write(demoBytes(off, len));
        off += len;
        if (!ok) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  } else if (req.method === 'POST' && (url.pathname === '/echo' || url.pathname === '/sha256')) {
    const hash = createHash('sha256');
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      size += c.length;
      if (url.pathname === '/echo' && size <= MAX_DEMO_BYTES) parts.push(c);
    });
    req.on('end', () => {
      if (url.pathname === '/sha256') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${hash.digest('hex')}\n`);
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.concat(parts));
      }
    });
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
}

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Start the echo and HTTP services on 127.0.0.1 (ephemeral ports). */
export async function startDemoServices(options: DemoServicesOptions = {}): Promise<DemoServices> {
  const sockets = new Set<Socket>();
  const echo = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // Echo with half-close: the peer's FIN ends our side after everything was echoed.
    socket.pipe(socket);
  });
  const http = createHttpServer(handleHttp);
  http.keepAliveTimeout = 1000;
  const [echoPort, httpPort] = await Promise.all([listen(echo), listen(http)]);
  const instance = options.instance ?? '*';
  return {
    echo: { host: '127.0.0.1', port: echoPort },
    http: { host: '127.0.0.1', port: httpPort },
    destinations: [
      { instance, host: 'localhost', port: options.echoPort ?? 7, to: { host: '127.0.0.1', port: echoPort } },
      { instance, host: 'localhost', port: options.httpPort ?? 80, to: { host: '127.0.0.1', port: httpPort } },
    ],
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      http.closeAllConnections();
      await Promise.all([
        new Promise<void>((r) => echo.close(() => r())),
        new Promise<void>((r) => http.close(() => r())),
      ]);
    },
  };
}
