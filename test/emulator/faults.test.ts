import t from 'tap';
import { randomUUID } from 'node:crypto';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  SessionFaults,
  createRng,
  deriveSeed,
  isAcknowledgeFrame,
  REORDER_FLUSH_MS,
  type Direction,
  type FaultEvent,
  type FaultKind,
} from '../../src/emulator/faults.js';
import type { FaultSettings } from '../../src/emulator/options.js';
import { encodeClientMessage } from '../../src/protocol/ssm/client-message.js';
import { encodeAcknowledge } from '../../src/protocol/ssm/payloads.js';

function dataFrame(seq: number): Buffer {
  return encodeClientMessage({
    messageType: 'output_stream_data',
    createdDate: 1_700_000_000_000,
    sequenceNumber: seq,
    flags: 0,
    messageId: randomUUID(),
    payloadType: 1,
    payload: Buffer.from(`m${seq}`),
  });
}

function ackFrame(seq: number): Buffer {
  return encodeClientMessage({
    messageType: 'acknowledge',
    createdDate: 1_700_000_000_000,
    sequenceNumber: 0,
    flags: 3,
    messageId: randomUUID(),
    payloadType: 0,
    payload: encodeAcknowledge({
      acknowledgedMessageType: 'input_stream_data',
      acknowledgedMessageId: randomUUID(),
      acknowledgedMessageSequenceNumber: seq,
      isSequentialMessage: true,
    }),
  });
}

function harness(settings: FaultSettings, seed = 1) {
  const clock = new FakeClock();
  const delivered: Array<{ dir: Direction; frame: Buffer }> = [];
  const drops: FaultKind[] = [];
  let byes = 0;
  const events: FaultEvent[] = [];
  const faults = new SessionFaults({
    clock,
    settings: () => settings,
    rng: createRng(seed),
    sink: {
      deliver: (dir, frame) => delivered.push({ dir, frame }),
      dropSocket: (kind) => drops.push(kind),
      bye: () => {
        byes += 1;
      },
    },
  });
  faults.on('fault', (e: FaultEvent) => events.push(e));
  return { clock, delivered, drops, events, faults, byes: () => byes };
}

t.test('with no faults every record passes once, in order', async (t) => {
  const h = harness({});
  const frames = [dataFrame(0), dataFrame(1), ackFrame(0)];
  for (const f of frames) h.faults.relay('s2c', f);
  t.same(
    h.delivered.map((d) => d.frame),
    frames,
  );
  t.same(h.events, []);
  t.same(h.faults.counters, { messages: 3, bytes: frames.reduce((n, f) => n + f.length, 0) });
});

t.test('dropRate 1 drops every record and reports it', async (t) => {
  const h = harness({ dropRate: 1 });
  h.faults.relay('c2s', dataFrame(0));
  h.faults.relay('s2c', dataFrame(1));
  t.equal(h.delivered.length, 0);
  t.same(h.events, [
    { kind: 'drop', dir: 'c2s' },
    { kind: 'drop', dir: 's2c' },
  ]);
});

t.test('duplicateRate 1 delivers every record twice', async (t) => {
  const h = harness({ duplicateRate: 1 });
  const f = dataFrame(0);
  h.faults.relay('s2c', f);
  t.same(
    h.delivered.map((d) => d.frame),
    [f, f],
  );
  t.same(h.events, [{ kind: 'duplicate', dir: 's2c' }]);
});

t.test('reorder holds a record until a later one has passed it', async (t) => {
  const settings: FaultSettings = { reorderRate: 1, reorderWindow: 1 };
  const h = harness(settings);
  const a = dataFrame(0);
  const b = dataFrame(1);
  h.faults.relay('s2c', a);
  t.equal(h.delivered.length, 0, 'the first record is held');
  settings.reorderRate = 0;
  h.faults.relay('s2c', b);
  t.same(
    h.delivered.map((d) => d.frame),
    [b, a],
    'b overtakes a',
  );
  t.same(h.events, [{ kind: 'reorder', dir: 's2c' }]);
});

t.test('a held record is released after the flush time when nothing follows', async (t) => {
  const h = harness({ reorderRate: 1, reorderWindow: 4 });
  const a = dataFrame(0);
  h.faults.relay('c2s', a);
  h.clock.advance(REORDER_FLUSH_MS - 1);
  t.equal(h.delivered.length, 0);
  h.clock.advance(1);
  t.same(
    h.delivered.map((d) => d.frame),
    [a],
  );
});

t.test('reordering in one direction does not hold the other', async (t) => {
  const settings: FaultSettings = { reorderRate: 1, reorderWindow: 1 };
  const h = harness(settings);
  const a = dataFrame(0);
  h.faults.relay('s2c', a);
  settings.reorderRate = 0;
  const b = dataFrame(1);
  h.faults.relay('c2s', b);
  t.same(
    h.delivered.map((d) => d.frame),
    [b],
    'the c2s record passes, the s2c one stays held',
  );
});

t.test('delayRate delays records by delayMs on the clock', async (t) => {
  const h = harness({ delayRate: 1, delayMs: 30 });
  const f = dataFrame(0);
  h.faults.relay('s2c', f);
  h.clock.advance(29);
  t.equal(h.delivered.length, 0);
  h.clock.advance(1);
  t.same(
    h.delivered.map((d) => d.frame),
    [f],
  );
  t.same(h.events, [{ kind: 'delay', dir: 's2c' }]);
});

t.test('ackDelayMs delays acknowledge records only', async (t) => {
  const h = harness({ ackDelayMs: 40 });
  const ack = ackFrame(3);
  const data = dataFrame(4);
  t.ok(isAcknowledgeFrame(ack));
  t.notOk(isAcknowledgeFrame(data));
  h.faults.relay('s2c', ack);
  h.faults.relay('s2c', data);
  t.same(
    h.delivered.map((d) => d.frame),
    [data],
    'data passes at once',
  );
  h.clock.advance(40);
  t.same(
    h.delivered.map((d) => d.frame),
    [data, ack],
    'the ack follows 40 ms later',
  );
  t.same(h.events, [{ kind: 'ack-delay', dir: 's2c' }]);
});

t.test('dropAfterMessages drops the socket once, after the Nth record', async (t) => {
  const h = harness({ dropAfterMessages: 3 });
  h.faults.relay('s2c', dataFrame(0));
  h.faults.relay('c2s', dataFrame(0));
  t.same(h.drops, []);
  h.faults.relay('s2c', dataFrame(1));
  t.same(h.drops, ['drop-after-messages']);
  t.equal(h.delivered.length, 3, 'the Nth record itself was delivered');
  for (let i = 0; i < 5; i++) h.faults.relay('s2c', dataFrame(2 + i));
  t.same(h.drops, ['drop-after-messages'], 'only once per session');
});

t.test('dropAfterBytes drops the socket once the byte count is reached', async (t) => {
  const f = dataFrame(0);
  const h = harness({ dropAfterBytes: f.length * 2 });
  h.faults.relay('s2c', f);
  t.same(h.drops, []);
  h.faults.relay('s2c', dataFrame(1));
  t.same(h.drops, ['drop-after-bytes']);
});

t.test('dropEveryMs drops each attached socket after T; detaching disarms it', async (t) => {
  const h = harness({ dropEveryMs: 100 });
  h.faults.attached();
  h.clock.advance(99);
  t.same(h.drops, []);
  h.clock.advance(1);
  t.same(h.drops, ['drop-every']);
  h.faults.detached();
  h.faults.attached();
  h.clock.advance(50);
  h.faults.detached();
  h.clock.advance(500);
  t.same(h.drops, ['drop-every'], 'a detached socket is not dropped again');
});

t.test('a runtime change re-arms the timers of the attached socket, counted from its attach', async (t) => {
  const settings: FaultSettings = {};
  const h = harness(settings);
  h.faults.attached();
  h.clock.advance(300);
  settings.byeAfterMs = 500;
  h.faults.settingsChanged();
  h.clock.advance(199);
  t.equal(h.byes(), 0);
  h.clock.advance(1);
  t.equal(h.byes(), 1, '500 ms after the attach, not after the change');
  settings.byeAfterMs = undefined;
  settings.dropEveryMs = 100;
  h.faults.settingsChanged();
  t.same(h.drops, []);
  h.clock.advance(0);
  t.same(h.drops, ['drop-every'], 'an overdue timer fires at once');
});

t.test('byeAfterMs closes the socket cleanly after T', async (t) => {
  const h = harness({ byeAfterMs: 1000 });
  h.faults.attached();
  h.clock.advance(999);
  t.equal(h.byes(), 0);
  h.clock.advance(1);
  t.equal(h.byes(), 1);
  t.same(h.events, [{ kind: 'bye' }]);
});

t.test('close() stops pending deliveries', async (t) => {
  const h = harness({ delayRate: 1, delayMs: 10 });
  h.faults.relay('s2c', dataFrame(0));
  h.faults.close();
  h.clock.advance(100);
  t.equal(h.delivered.length, 0);
  t.equal(h.clock.pending, 0, 'no timers left');
});

t.test('decisions are reproducible from the seed', async (t) => {
  const run = (seed: number): string => {
    const h = harness({ dropRate: 0.3, duplicateRate: 0.3 }, seed);
    for (let i = 0; i < 50; i++) h.faults.relay('s2c', dataFrame(i));
    return h.events.map((e) => e.kind[1]).join('');
  };
  t.equal(run(42), run(42));
  t.not(run(42), run(43));
  t.not(deriveSeed(1, 'a'), deriveSeed(1, 'b'));
  const r = createRng(7);
  for (let i = 0; i < 100; i++) {
    const x = r();
    t.ok(x >= 0 && x < 1);
  }
});
