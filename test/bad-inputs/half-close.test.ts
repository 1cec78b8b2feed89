/**
 * A client that half-closes: it sends its upload, shuts its write side (socket.end(), a FIN) and
 * keeps reading, while the destination is sending the whole time. The agent closes the
 * destination connection fully on the client's FIN (as the real agent does, docs/mux.md), but only
 * after every byte of the upload was handed to the kernel: the destination must receive every
 * upload whole. The emulated agent used to destroy the socket at once, dropping the writes still
 * buffered in the process (the tail of the upload was lost in a few percent of connections).
 * Real sockets on 127.0.0.1: the emulator, a tunnel forward, a destination server that streams
 * data to each connection and hashes what it reads.
 *
 * TODO (issue #16): this does not hold yet, with or without 84c08ec. The agent's full close comes
 * while the destination is still sending, so its socket has unread data and the kernel answers
 * the close with RST, discarding the part of the upload still in the agent's kernel send queue
 * (the destination's receive window was full). Measured (48 connections, 256 KiB each): before
 * 84c08ec 45/48 lost data one at a time, 17/48 sixteen at a time; after it 39/48 and 16/48. The
 * real agent's Close() does the same (docs/mux.md), so a fix is a decision about fidelity, not a
 * bug fix: the emulator could drain the destination before closing, or the doc could stop
 * promising the upload. Until then the test is a todo and has no docs/bad-inputs.md row.
 */
import t from 'tap';
import { EventEmitter, once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_INSTANCE_ID } from '../../src/emulator/index.js';
import { startLoopbackServer } from '../helpers/loopback.js';
import { makeManager, sha, startEmu, until } from '../e2e/helpers.js';

const CLIENTS = 48;
const BATCH = 16;
const UPLOAD_BYTES = 256 * 1024;

interface Received {
  bytes: number;
  sha: string;
}

t.test(
  'half-close-upload: a client that half-closes while the destination sends loses none of its upload',
  { todo: 'the agent closes with unread destination data: RST drops the unsent tail (see above)' },
  async (t) => {
    const emu = await startEmu(t);
    const received: Received[] = [];
    const recorded = new EventEmitter();
    const chunk = randomBytes(64 * 1024);
    // The destination: streams data to the client for as long as it can, reads and hashes the
    // upload; when its connection ends (closed or reset by the agent) it records what it got.
    const dest = await startLoopbackServer(t, (s: Socket) => {
      const hash = createHash('sha256');
      let bytes = 0;
      s.on('data', (b: Buffer) => {
        hash.update(b);
        bytes += b.length;
      });
      const pump = (): void => {
        while (!s.destroyed && s.writable && s.write(chunk));
      };
      s.on('drain', pump);
      pump();
      s.once('close', () => {
        received.push({ bytes, sha: hash.digest('hex') });
        recorded.emit('received');
      });
    });
    const { manager } = makeManager(t, emu);
    const f = manager.add({
      name: 'half',
      target: { kind: 'id', id: DEFAULT_INSTANCE_ID },
      remotePort: dest.port,
      localPort: 'auto',
      bind: ['127.0.0.1'],
    });
    await manager.start();

    const uploads = Array.from({ length: CLIENTS }, () => randomBytes(UPLOAD_BYTES));
    for (let i = 0; i < CLIENTS; i += BATCH)
      await Promise.all(
        uploads.slice(i, i + BATCH).map(async (upload) => {
          const c = connect(f.port ?? 0, '127.0.0.1');
          c.on('error', () => undefined);
          const closed = once(c, 'close');
          c.resume(); // keeps reading whatever the destination sends, until the tunnel closes
          await once(c, 'connect');
          c.end(upload); // the upload, then a FIN; the read side stays open
          await closed;
        }),
      );
    // Every destination connection has ended (each records on 'close').
    await until(recorded, 'received', () => received.length === CLIENTS);

    const want = uploads.map(sha).sort();
    const got = received.map((r) => r.sha).sort();
    const short = received.filter((r) => r.bytes !== UPLOAD_BYTES);
    t.equal(
      short.length,
      0,
      `every upload arrived whole: ${CLIENTS - short.length}/${CLIENTS}` +
        (short.length === 0 ? '' : `; short: ${short.map((r) => r.bytes).join(', ')} bytes`),
    );
    t.same(got, want, 'the destination received every upload, sha256 for sha256');
  },
);
