/**
 * The download helper is the judge in every "lost means reset" test, so it is tested itself:
 * a TCP reset that arrives while the reader still has unread bytes must count as a reset (Node's
 * libuv before 1.52 reports it as a clean EOF), and a clean FIN after a partial transfer as short.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { startLoopbackServer } from '../helpers/loopback.js';
import { download } from '../helpers/stream-source.js';

const SIZE = 4 * 1024 * 1024;

/** A server that queues `queued` bytes for a paused reader, then closes as `how`. */
async function cutServer(t: Test, queued: number, how: 'reset' | 'fin') {
  const written = new Promise<Socket>((resolve) => {
    void startLoopbackServer(
      t,
      (s) => {
        s.once('data', () => s.write(Buffer.alloc(queued, 7), () => resolve(s)));
      },
      { allowHalfOpen: true },
    ).then((srv) => serverPort.resolve(srv.port));
  });
  const serverPort = deferred<number>();
  const port = await serverPort.promise;
  const d = download(port, 1, SIZE);
  d.socket.pause();
  const s = await written;
  if (how === 'reset') {
    s.resetAndDestroy();
    await once(s, 'close');
  } else {
    s.end();
    await once(s, 'finish');
  }
  d.socket.resume();
  return d.done;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => {};
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

t.test('a reset with bytes still unread is a reset, not a clean short end', async (t) => {
  for (const queued of [1024, 256 * 1024, 1024 * 1024]) {
    const r = await cutServer(t, queued, 'reset');
    t.equal(r.end, 'reset', `${queued} bytes queued: reset (got ${r.end} after ${r.bytes} bytes)`);
    t.ok(r.bytes < SIZE, 'partial');
  }
});

t.test('a clean FIN after a partial transfer is short', async (t) => {
  for (const queued of [1024, 256 * 1024]) {
    const r = await cutServer(t, queued, 'fin');
    t.equal(r.end, 'short', `${queued} bytes queued: short`);
    t.equal(r.bytes, queued, 'every byte sent arrived');
  }
});
