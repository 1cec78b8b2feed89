import t from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { demoBytes, startDemoServices } from '../../src/emulator/demo-services.js';

t.test('echo and http services on loopback, with instance port mappings', async (t) => {
  const demo = await startDemoServices({ instance: 'i-0123456789abcdef0' });
  t.teardown(() => demo.close());
  t.same(
    demo.destinations.map((d) => [d.instance, d.host, d.port, d.to.port]),
    [
      ['i-0123456789abcdef0', 'localhost', 7, demo.echo.port],
      ['i-0123456789abcdef0', 'localhost', 80, demo.http.port],
    ],
  );

  const sock = connect(demo.echo.port, '127.0.0.1');
  const got: Buffer[] = [];
  sock.on('data', (c: Buffer) => got.push(c));
  sock.end('ping-pong');
  await once(sock, 'close');
  t.equal(Buffer.concat(got).toString(), 'ping-pong');

  const get = (path: string): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: demo.http.port, path, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      });
      req.on('error', reject);
      req.end();
    });
  const root = await get('/');
  t.equal(root.status, 200);
  t.match(root.body.toString(), /tunnel demo/);
  const bytes = await get('/bytes/100000');
  t.equal(bytes.body.length, 100000);
  t.ok(bytes.body.equals(demoBytes(0, 100000)));
  t.equal((await get('/nope')).status, 404);

  const body = Buffer.from('hash me');
  const sha = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: demo.http.port, path: '/sha256', method: 'POST', agent: false },
      (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s.trim()));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  t.equal(sha, createHash('sha256').update(body).digest('hex'));
});
