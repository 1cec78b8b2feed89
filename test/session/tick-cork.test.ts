import t from 'tap';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { tickCorker, wsSocketCorker } from '../../src/session/tick-cork.js';

/** A loopback TCP pair; the server side collects what it reads. */
async function tcpPair(): Promise<{ client: Socket; received: () => Promise<Buffer>; close: () => void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  const chunks: Buffer[] = [];
  peer.on('data', (b: Buffer) => chunks.push(b));
  const ended = once(peer, 'end');
  return {
    client,
    received: async () => {
      await ended;
      return Buffer.concat(chunks);
    },
    close: () => {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}

/** Counts the socket's calls into its write implementation (one per system call it makes). */
function countWrites(s: Socket): { calls: number; chunks: number } {
  const n = { calls: 0, chunks: 0 };
  const w = s as unknown as {
    _write: (c: unknown, e: unknown, cb: unknown) => void;
    _writev: (cs: unknown[], cb: unknown) => void;
  };
  const write = w._write.bind(s);
  const writev = w._writev.bind(s);
  w._write = (c, e, cb) => {
    n.calls++;
    n.chunks++;
    write(c, e, cb);
  };
  w._writev = (cs, cb) => {
    n.calls++;
    n.chunks += cs.length;
    writev(cs, cb);
  };
  return n;
}

const pieces = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1024, i));

t.test('writes of one turn leave in one writev, in order; the next turn is corked afresh', async (t) => {
  const p = await tcpPair();
  t.teardown(p.close);
  const n = countWrites(p.client);
  const cork = tickCorker(p.client);
  for (const b of pieces) {
    cork();
    p.client.write(b);
  }
  t.equal(p.client.writableCorked, 1, 'corked for the rest of the turn');
  await new Promise<void>((r) => setImmediate(r));
  t.equal(p.client.writableCorked, 0, 'uncorked once the turn ended');
  t.equal(n.calls, 1, 'one write call for 50 chunks');
  t.equal(n.chunks, 50);
  for (const b of pieces) {
    cork();
    p.client.write(b);
  }
  await new Promise<void>((r) => setImmediate(r));
  t.equal(n.calls, 2, 'the second turn: one more');
  p.client.end();
  t.same(await p.received(), Buffer.concat([...pieces, ...pieces]), 'every byte arrived, in order');
});

t.test('without it, each write of a turn is its own call (what the corker saves)', async (t) => {
  const p = await tcpPair();
  t.teardown(p.close);
  const n = countWrites(p.client);
  for (const b of pieces) p.client.write(b);
  await new Promise<void>((r) => setImmediate(r));
  t.ok(n.calls >= 25, `${n.calls} calls for 50 chunks`);
  p.client.end();
  t.equal((await p.received()).length, 50 * 1024);
});

t.test('a destroyed socket is left alone', async (t) => {
  const p = await tcpPair();
  t.teardown(p.close);
  const cork = tickCorker(p.client);
  p.client.destroy();
  cork();
  t.equal(p.client.writableCorked, 0, 'not corked');
  // Corked, then destroyed within the turn: the deferred uncork does not touch it.
  const q = await tcpPair();
  t.teardown(q.close);
  const cork2 = tickCorker(q.client);
  cork2();
  q.client.destroy();
  await new Promise<void>((r) => setImmediate(r));
  t.ok(q.client.destroyed);
});

t.test("wsSocketCorker corks a ws client's socket, and refuses anything else", async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  t.teardown(() => wss.close());
  const got: Buffer[] = [];
  let allArrived = (): void => undefined;
  const arrived = new Promise<void>((r) => (allArrived = r));
  wss.on('connection', (s: WebSocket) =>
    s.on('message', (d: Buffer) => {
      got.push(d);
      if (got.length === 20) allArrived();
    }),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await once(ws, 'open');
  t.teardown(() => ws.terminate());
  const cork = wsSocketCorker(ws);
  if (cork === undefined) throw new Error('no corker for a ws client');
  const sock = Reflect.get(ws, '_socket') as Socket;
  const n = countWrites(sock);
  for (const b of pieces.slice(0, 20)) {
    cork();
    ws.send(b);
  }
  await new Promise<void>((r) => setImmediate(r));
  t.equal(n.calls, 1, '20 websocket frames, one write call');
  await arrived;
  t.same(got, pieces.slice(0, 20), 'frames arrive intact and in order');
  t.equal(wsSocketCorker({}), undefined, 'no _socket');
  t.equal(wsSocketCorker({ _socket: { cork: 1 } }), undefined, 'not a socket');
});
