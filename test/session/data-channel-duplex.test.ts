import t from 'tap';
import { EventEmitter, once } from 'node:events';
import { DataChannelDuplex, packPayloads, type PayloadChannel } from '../../src/session/data-channel-duplex.js';
import { SessionError } from '../../src/errors.js';

class FakeChannel extends EventEmitter implements PayloadChannel {
  sent: Buffer[] = [];
  accept = true;
  pauses = 0;
  resumes = 0;
  sendData(buf: Buffer): boolean {
    this.sent.push(Buffer.from(buf));
    return this.accept;
  }
  pauseReceiving(): void {
    this.pauses++;
  }
  resumeReceiving(): void {
    this.resumes++;
  }
}

t.test('writes go to sendData; a full window holds the write callback until drain', async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch, { writableHighWaterMark: 1 });
  ch.accept = false;
  let firstDone = false;
  d.write(Buffer.from('one'), () => (firstDone = true));
  const second = d.write(Buffer.from('two'));
  t.notOk(second, 'write() reports backpressure');
  await new Promise((r) => setImmediate(r));
  t.notOk(firstDone, 'callback held while the window is full');
  t.same(ch.sent.map(String), ['one'], 'the second chunk waits');
  ch.accept = true;
  const drained = once(d, 'drain');
  ch.emit('drain');
  await drained;
  t.ok(firstDone);
  t.same(ch.sent.map(String), ['one', 'two']);
  d.destroy();
});

t.test('channel data is readable in order; pushing past the high-water mark pauses receiving', async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch, { readableHighWaterMark: 4 });
  ch.emit('data', Buffer.from('ab'));
  t.equal(ch.pauses, 0);
  ch.emit('data', Buffer.from('cdef'));
  t.equal(ch.pauses, 1, 'paused once the buffer is over the mark');
  ch.emit('data', Buffer.from('gh'));
  t.equal(ch.pauses, 1, 'not paused twice');
  const got: string[] = [];
  d.on('data', (b: Buffer) => got.push(String(b)));
  await new Promise((r) => setImmediate(r));
  t.equal(got.join(''), 'abcdefgh');
  t.equal(ch.resumes, 1, 'resumed when the consumer read');
  d.destroy();
});

t.test("the channel's 'closed' ends the readable side", async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch);
  const chunks: string[] = [];
  d.on('data', (b: Buffer) => chunks.push(String(b)));
  ch.emit('data', Buffer.from('last'));
  ch.emit('closed', { output: '' });
  await once(d, 'end');
  t.same(chunks, ['last']);
});

t.test("the channel's 'error' destroys the duplex with that error", async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch);
  const err = new SessionError('ERR_SESSION_RESUME_FAILED', 'gone');
  ch.emit('error', err);
  const [e] = (await once(d, 'error')) as [unknown];
  t.equal(e, err);
  t.ok(d.destroyed);
  t.equal(ch.listenerCount('data'), 0, 'listeners removed');
});

t.test('a throwing sendData fails the write', async (t) => {
  const ch = new FakeChannel();
  ch.sendData = () => {
    throw new SessionError('ERR_SESSION_CLOSED', 'closed');
  };
  const d = new DataChannelDuplex(ch);
  d.write(Buffer.from('x'));
  const [e] = (await once(d, 'error')) as [unknown];
  t.match(e, { code: 'ERR_SESSION_CLOSED' });
});

t.test('end() sends nothing on the channel', async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch);
  d.end();
  await once(d, 'finish');
  t.same(ch.sent, []);
  d.destroy();
});

t.test('corked writes are packed into full payloads across chunk boundaries (no 8-byte messages)', async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch, { maxPayloadBytes: 16 });
  const header = Buffer.from('HDR-8byt');
  const data = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'); // 36 bytes
  d.cork();
  d.write(header);
  d.write(data);
  d.uncork();
  const all = Buffer.concat([header, data]);
  t.same(
    ch.sent.map((b) => b.length),
    [16, 16, 12],
    'three payloads of at most 16 bytes, the header inside the first',
  );
  t.same(Buffer.concat(ch.sent), all, 'the bytes in order, none lost or repeated');
  d.destroy();
});

t.test('packPayloads: views inside one chunk, one copy only for a payload that spans chunks', async (t) => {
  const big = Buffer.alloc(40, 7);
  const out = [...packPayloads([{ chunk: Buffer.from('xy') }, { chunk: big }, { chunk: Buffer.alloc(0) }], 16)];
  t.same(
    out.map((b) => b.length),
    [16, 16, 10],
  );
  t.equal(out[1]?.buffer, big.buffer, 'the middle payload is a view of the big chunk');
  t.same(Buffer.concat(out), Buffer.concat([Buffer.from('xy'), big]));
  t.same([...packPayloads([], 16)], [], 'nothing in, nothing out');
  t.same(
    [...packPayloads([{ chunk: Buffer.alloc(32, 1) }], 16)].map((b) => b.length),
    [16, 16],
    'exact multiples make no empty tail',
  );
});

t.test('a full channel during a packed write holds the callback until drain', async (t) => {
  const ch = new FakeChannel();
  const d = new DataChannelDuplex(ch, { maxPayloadBytes: 4 });
  ch.accept = false;
  let done = false;
  d.cork();
  d.write(Buffer.from('ab'));
  d.write(Buffer.from('cdefg'), () => (done = true));
  d.uncork();
  await new Promise((r) => setImmediate(r));
  t.same(ch.sent.map(String), ['abcd', 'efg'], 'every payload handed over (the channel never drops)');
  t.notOk(done, 'but the callback waits');
  ch.accept = true;
  ch.emit('drain');
  await new Promise((r) => setImmediate(r));
  t.ok(done);
  d.destroy();
});
