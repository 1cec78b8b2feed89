import t from 'tap';
import { EventEmitter, once } from 'node:events';
import { DataChannelDuplex, type PayloadChannel } from '../../src/session/data-channel-duplex.js';
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
