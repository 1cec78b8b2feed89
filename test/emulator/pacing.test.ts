import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { AGENT_READ_PAUSE_MS, Pacer, STREAM_DATA_PAYLOAD_BYTES, chunkPayload } from '../../src/emulator/pacing.js';

t.test('chunkPayload splits into views of at most 1024 bytes', async (t) => {
  const buf = Buffer.alloc(2500, 7);
  const chunks = chunkPayload(buf);
  t.same(
    chunks.map((c) => c.length),
    [1024, 1024, 452],
  );
  t.equal(Buffer.concat(chunks).equals(buf), true);
  t.same(chunkPayload(Buffer.alloc(0)), []);
  t.same(chunkPayload(Buffer.alloc(1024)).length, 1);
  t.equal(STREAM_DATA_PAYLOAD_BYTES, 1024);
});

t.test("profile 'agent' waits at least 1 ms on the clock after each Output", async (t) => {
  const clock = new FakeClock();
  const pacer = new Pacer('agent', clock);
  let resumed = 0;
  t.equal(
    pacer.afterOutput(() => resumed++),
    false,
    'the caller must wait',
  );
  t.equal(pacer.isWaiting, true);
  clock.advance(AGENT_READ_PAUSE_MS - 0.5);
  t.equal(resumed, 0);
  clock.advance(0.5);
  t.equal(resumed, 1);
  t.equal(pacer.isWaiting, false);
});

t.test("profile 'none' lets the next message go at once", async (t) => {
  const clock = new FakeClock();
  const pacer = new Pacer('none', clock);
  t.equal(
    pacer.afterOutput(() => t.fail('never called')),
    true,
  );
  t.equal(pacer.isWaiting, false);
  t.equal(clock.pending, 0);
});

t.test('close() cancels a pending pause', async (t) => {
  const clock = new FakeClock();
  const pacer = new Pacer('agent', clock);
  pacer.afterOutput(() => t.fail('must not run after close'));
  pacer.close();
  clock.advance(10);
  t.equal(clock.pending, 0);
});
