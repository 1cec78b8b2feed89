import t from 'tap';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { isTunnelError } from '../../src/errors.js';
import { TunnelListener } from '../../src/tunnel/listener.js';

function onConn(sockets: Socket[]): (s: Socket) => void {
  return (s) => {
    sockets.push(s);
    s.end('hi');
  };
}

async function occupy(t: { teardown(fn: () => Promise<void>): void }): Promise<number> {
  const srv: Server = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  const a = srv.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}

async function readAll(port: number, host: string): Promise<string> {
  const c = connect(port, host);
  let s = '';
  c.on('data', (b: Buffer) => (s += b.toString()));
  await once(c, 'close');
  return s;
}

t.test('auto port binds 127.0.0.1 and ::1 on the same port', async (t) => {
  const sockets: Socket[] = [];
  const l = new TunnelListener({ port: 'auto', onConnection: onConn(sockets) });
  const r = await l.listen();
  t.teardown(() => l.close());
  t.ok(r.port > 0);
  t.same(
    r.addresses.map((a) => a.port),
    r.addresses.map(() => r.port),
  );
  t.ok(r.addresses.some((a) => a.address === '127.0.0.1'));
  t.equal(await readAll(r.port, '127.0.0.1'), 'hi');
  if (r.addresses.some((a) => a.address === '::1')) t.equal(await readAll(r.port, '::1'), 'hi');
  t.same(
    r.warnings.filter((w) => w.includes('not a loopback')),
    [],
  );
  t.equal(sockets.length >= 1, true);
});

t.test('a busy port is ERR_TUNNEL_PORT_IN_USE', async (t) => {
  const busy = await occupy(t);
  const l = new TunnelListener({ port: busy, bind: ['127.0.0.1'], onConnection: () => {} });
  const err = await l.listen().catch((e: unknown) => e);
  t.ok(isTunnelError(err, 'ERR_TUNNEL_PORT_IN_USE'), String(err));
  t.match((err as Error).message, String(busy));
  t.notOk(l.listening);
});

t.test('a busy preferred port falls back to a free one when allowed', async (t) => {
  const busy = await occupy(t);
  const l = new TunnelListener({ port: busy, bind: ['127.0.0.1'], allowBusyFallback: true, onConnection: onConn([]) });
  const r = await l.listen();
  t.teardown(() => l.close());
  t.equal(r.fellBack, true);
  t.not(r.port, busy);
  t.equal(await readAll(r.port, '127.0.0.1'), 'hi');
});

t.test('a non-loopback bind address produces a warning', async (t) => {
  const l = new TunnelListener({ port: 'auto', bind: ['0.0.0.0'], onConnection: onConn([]) });
  const r = await l.listen();
  t.teardown(() => l.close());
  t.equal(r.warnings.length, 1);
  t.match(r.warnings[0], /0\.0\.0\.0.*not a loopback/);
});

t.test('close stops accepting', async (t) => {
  const l = new TunnelListener({ port: 'auto', bind: ['127.0.0.1'], onConnection: onConn([]) });
  const r = await l.listen();
  await l.close();
  const c = connect(r.port, '127.0.0.1');
  const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'ECONNREFUSED');
});
