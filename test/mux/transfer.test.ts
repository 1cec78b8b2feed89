/** Two MuxSessions over the in-memory duplex pair: many streams, bulk data, half-close, slow consumers. */
import t from 'tap';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { MuxSession, type MuxConfig, type MuxStream } from '../../src/mux/index.js';
import { createDuplexPair } from '../helpers/duplex-pair.js';
import { randInt, randomBytesFrom, seededRandom } from '../helpers/hex.js';

function pairOfSessions(config: Partial<MuxConfig> = {}, hwm = 256 * 1024): { client: MuxSession; server: MuxSession } {
  const [a, b] = createDuplexPair({ highWaterMark: hwm });
  const full = { keepAliveDisabled: true, ...config };
  const client = new MuxSession(a, { role: 'client', config: full });
  const server = new MuxSession(b, { role: 'server', config: full });
  t.teardown(() => {
    client.close();
    server.close();
  });
  return { client, server };
}

async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Collect a stream's bytes until EOF. */
function collect(s: MuxStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

for (const version of [1, 2] as const) {
  t.test(`v${version}: 1,000 concurrent streams echo their data, each verified by sha256`, async (t) => {
    const { client, server } = pairOfSessions({ version });
    let accepted = 0;
    server.on('stream', (s: MuxStream) => {
      accepted++;
      s.pipe(s); // echo; ends our side (FIN) after the peer's FIN
    });
    const rnd = seededRandom(1000 + version);
    const jobs: Array<Promise<boolean>> = [];
    const ids: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const data = randomBytesFrom(rnd, randInt(rnd, 16 * 1024));
      const s = client.openStream();
      ids.push(s.id);
      const echoed = collect(s);
      // Write in two pieces so frames of different streams interleave on the carrier.
      const cut = randInt(rnd, data.length + 1);
      s.write(data.subarray(0, cut));
      s.end(data.subarray(cut));
      jobs.push(echoed.then((back) => sha(back) === sha(data) && back.length === data.length));
    }
    const results = await Promise.all(jobs);
    t.equal(results.filter(Boolean).length, 1000, 'all 1,000 echoes match by sha256');
    t.equal(accepted, 1000, 'server accepted 1,000 streams');
    t.same(ids.slice(0, 3), [3, 5, 7], 'client ids 3, 5, 7 …');
    t.equal(ids[999], 2001);
    await settle();
    t.equal(client.streamCount, 0, 'client table empty after both FINs');
    t.equal(server.streamCount, 0, 'server table empty after both FINs');
    t.equal(client.receiveBufferedBytes, 0);
    t.equal(server.receiveBufferedBytes, 0);
  });
}

t.test('v1: a 256 MiB transfer arrives intact (sha256) in seconds', async (t) => {
  const { client, server } = pairOfSessions({ version: 1, maxFrameBytes: 65_535 }, 1024 * 1024);
  const total = 256 * 1024 * 1024;
  const chunkSize = 1024 * 1024;
  const base = randomBytesFrom(seededRandom(256), chunkSize);
  const accepted = once(server, 'stream') as Promise<[MuxStream]>;
  const s = client.openStream();
  const sentHash = createHash('sha256');
  const started = performance.now();
  const writer = (async () => {
    for (let i = 0; i < total / chunkSize; i++) {
      const chunk = Buffer.from(base);
      chunk.writeUInt32LE(i, 0); // every chunk differs, so reordering would show
      sentHash.update(chunk);
      if (!s.write(chunk)) await once(s, 'drain');
    }
    s.end();
  })();
  const [rs] = await accepted;
  const recvHash = createHash('sha256');
  let received = 0;
  rs.on('data', (d: Buffer) => {
    received += d.length;
    recvHash.update(d);
  });
  await once(rs, 'end');
  await writer;
  const ms = performance.now() - started;
  t.equal(received, total, '256 MiB received');
  t.equal(recvHash.digest('hex'), sentHash.digest('hex'), 'sha256 matches');
  t.ok(ms < 20_000, `took ${ms.toFixed(0)} ms (${(total / 1048576 / (ms / 1000)).toFixed(0)} MiB/s)`);
});

t.test('v2: a 32 MiB transfer under per-stream windows arrives intact', async (t) => {
  const { client, server } = pairOfSessions({ version: 2 });
  const total = 32 * 1024 * 1024;
  const base = randomBytesFrom(seededRandom(32), 256 * 1024);
  const accepted = once(server, 'stream') as Promise<[MuxStream]>;
  const s = client.openStream();
  const sentHash = createHash('sha256');
  const writer = (async () => {
    for (let i = 0; i < total / base.length; i++) {
      const chunk = Buffer.from(base);
      chunk.writeUInt32LE(i, 0);
      sentHash.update(chunk);
      if (!s.write(chunk)) await once(s, 'drain');
    }
    s.end();
  })();
  const [rs] = await accepted;
  const back = createHash('sha256');
  let n = 0;
  rs.on('data', (d: Buffer) => {
    n += d.length;
    back.update(d);
  });
  await once(rs, 'end');
  await writer;
  t.equal(n, total);
  t.equal(back.digest('hex'), sentHash.digest('hex'));
});

for (const version of [1, 2] as const) {
  t.test(`v${version}: 64 MiB echoed on one stream with both directions loaded at once (no deadlock)`, async (t) => {
    const { client, server } = pairOfSessions(
      { version, maxReceiveBufferBytes: 512 * 1024, maxStreamBufferBytes: 128 * 1024 },
      64 * 1024,
    );
    server.on('stream', (s: MuxStream) => s.pipe(s));
    const s = client.openStream();
    const total = 64 * 1024 * 1024;
    const base = randomBytesFrom(seededRandom(64 + version), 512 * 1024);
    const sent = createHash('sha256');
    const back = createHash('sha256');
    let n = 0;
    s.on('data', (d: Buffer) => {
      n += d.length;
      back.update(d);
    });
    const ended = once(s, 'end');
    for (let i = 0; i < total / base.length; i++) {
      const chunk = Buffer.from(base);
      chunk.writeUInt32LE(i, 0);
      sent.update(chunk);
      if (!s.write(chunk)) await once(s, 'drain');
    }
    s.end();
    await ended;
    t.equal(n, total);
    t.equal(back.digest('hex'), sent.digest('hex'), 'echo matches');
  });
}

t.test('half-close: end() sends FIN, the peer still writes back, and both directions finish', async (t) => {
  const { client, server } = pairOfSessions();
  const order: string[] = [];
  server.on('stream', (s: MuxStream) => {
    const req: Buffer[] = [];
    s.on('data', (d: Buffer) => req.push(d));
    s.on('end', () => {
      order.push('server saw FIN');
      // Our write side is still open after the peer's FIN (allowHalfOpen, xtaci v1 semantics).
      s.end(`response to ${Buffer.concat(req).toString()}`);
    });
  });
  const c = client.openStream();
  const response = collect(c);
  c.on('finish', () => order.push('client finished writing'));
  c.end('request');
  t.equal((await response).toString(), 'response to request');
  order.push('client saw FIN');
  t.same(order, ['client finished writing', 'server saw FIN', 'client saw FIN']);
  await settle();
  t.equal(client.streamCount, 0);
  t.equal(server.streamCount, 0);
});

t.test('half-close the other way: after our FIN we keep reading what the peer sends', async (t) => {
  const { client, server } = pairOfSessions();
  const accepted = once(server, 'stream') as Promise<[MuxStream]>;
  const c = client.openStream();
  const [s] = await accepted;
  const fromClient = collect(s);
  s.end('bye'); // server half-closes first
  const fromServer = await collect(c);
  t.equal(fromServer.toString(), 'bye', 'client read to EOF');
  t.equal(c.writable, true, 'client can still write after the remote FIN');
  c.write('late ');
  c.end('data');
  t.equal((await fromClient).toString(), 'late data', 'server still receives after sending its FIN');
  await settle();
  t.equal(client.streamCount + server.streamCount, 0);
});

for (const version of [1, 2] as const) {
  t.test(
    `v${version}: a slow consumer pushes back to the writer; receiver memory stays within budget + one frame`,
    async (t) => {
      const budget = 256 * 1024;
      const frame = 16 * 1024;
      const hwm = 16 * 1024;
      const { client, server } = pairOfSessions(
        { version, maxReceiveBufferBytes: budget, maxStreamBufferBytes: 64 * 1024, maxFrameBytes: frame },
        hwm,
      );
      const accepted = once(server, 'stream') as Promise<[MuxStream]>;
      const s = client.openStream();
      const total = 8 * 1024 * 1024;
      const data = randomBytesFrom(seededRandom(7 + version), total);
      let accepted_bytes = 0;
      let writerDone = false;
      const writer = (async () => {
        for (let off = 0; off < total; off += 64 * 1024) {
          const piece = data.subarray(off, off + 64 * 1024);
          const ok = s.write(piece);
          accepted_bytes += piece.length;
          if (!ok) await once(s, 'drain');
        }
        s.end();
        writerDone = true;
      })();
      const [rs] = await accepted;
      await settle(50);
      // Nobody reads yet: the writer must be stuck far short of the total.
      t.equal(writerDone, false, 'writer is blocked');
      t.ok(accepted_bytes < 2 * budget, `writer blocked after ${accepted_bytes} bytes`);
      const bound = budget + frame;
      const perStream = version === 2 ? 262_144 + frame : bound; // v2: the initial peer window caps one stream
      t.ok(
        server.receiveBufferedBytes <= Math.min(bound, perStream),
        `server holds ${server.receiveBufferedBytes} unread bytes`,
      );
      t.ok(server.decoderBufferedBytes <= frame + 8, `decoder holds ${server.decoderBufferedBytes} raw bytes`);
      // Now read slowly, one chunk per event-loop turn, checking the bound all the way.
      const got: Buffer[] = [];
      let n = 0;
      let maxSeen = 0;
      let turns = 0;
      while (n < total && turns < 100_000) {
        turns++;
        const c = rs.read() as Buffer | null;
        if (c === null) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        got.push(c);
        n += c.length;
        const held = server.receiveBufferedBytes + rs.readableLength;
        if (held > maxSeen) maxSeen = held;
        if (turns % 8 === 0) await new Promise<void>((r) => setImmediate(r));
      }
      await writer;
      t.equal(n, total, 'all bytes read');
      t.ok(Buffer.concat(got).equals(data), 'data intact');
      t.ok(maxSeen <= bound, `receiver never held more than ${maxSeen} <= ${bound} bytes`);
    },
  );
}

t.test('writes hold their callback while the carrier is full', async (t) => {
  const [a, b] = createDuplexPair({ highWaterMark: 4096 });
  const client = new MuxSession(a, { role: 'client', config: { keepAliveDisabled: true, maxFrameBytes: 1024 } });
  t.teardown(() => client.close());
  const s = client.openStream();
  let done = false;
  s.write(Buffer.alloc(64 * 1024), () => (done = true));
  await settle();
  t.equal(done, false, 'the write callback is held: nobody reads the carrier');
  t.ok(a.inFlightBytes <= 2 * 4096 + 1024 + 8, `carrier holds ${a.inFlightBytes} bytes`);
  b.resume(); // start reading the raw carrier
  await once(s, 'drain');
  t.equal(done, true, 'released once the carrier drains');
});
