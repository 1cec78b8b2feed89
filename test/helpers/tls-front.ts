/**
 * TLS for the emulator in tests: a throwaway CA and a server certificate for `localhost` /
 * 127.0.0.1 made with the `openssl` command, and an HTTPS front on loopback that passes API
 * requests and websocket upgrades through to the emulator's plain-http port unchanged (the Host
 * header included, so SigV4 signatures still verify).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export interface TestCa {
  caFile: string;
  key: string;
  cert: string;
}

/** A CA and a `localhost` server certificate signed by it, in `dir`. */
export function makeTestCa(dir: string): TestCa {
  const f = (n: string): string => join(dir, n);
  const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=tunnel test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  ]);
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  ]);
  run([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('server.pem'),
  ]);
  return {
    caFile: f('ca.pem'),
    key: readFileSync(f('server.key'), 'utf8'),
    cert: readFileSync(f('server.pem'), 'utf8'),
  };
}

/** An HTTPS front for `http://127.0.0.1:backendPort`; returns its port. Closed in teardown. */
export async function startTlsFront(
  t: { teardown(fn: () => unknown): void },
  ca: TestCa,
  backendPort: number,
): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
    const up = request(
      { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const back = connect({ host: '127.0.0.1', port: backendPort });
    sockets.add(back);
    sockets.add(socket);
    back.on('error', () => socket.destroy());
    socket.on('error', () => back.destroy());
    back.once('connect', () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      back.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) back.write(head);
      back.pipe(socket);
      socket.pipe(back);
    });
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
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
  return { port: a !== null && typeof a === 'object' ? a.port : 0, server };
}
