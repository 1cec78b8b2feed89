import t from 'tap';
import { PayloadType, MessageType, decodeAcknowledge } from '../../src/protocol/ssm/index.js';
import { SessionError } from '../../src/errors.js';
import { makeLink, mgsMessage, peerAck, peerData } from '../helpers/reliable-link-harness.js';

t.test('client: numbers input_stream_data from 0 with Flags 0 and keeps it until acked', async (t) => {
  const h = makeLink();
  t.ok(h.link.send(PayloadType.Output, Buffer.from('a')));
  t.ok(h.link.send(PayloadType.Flag, Buffer.from('00000002', 'hex')));
  t.same(
    h.sent.map((m) => [m.messageType, m.sequenceNumber, m.flags, m.payloadType]),
    [
      ['input_stream_data', 0, 0, 1],
      ['input_stream_data', 1, 0, 10],
    ],
  );
  t.equal(h.sent[0]?.createdDate, h.clock.wallNow(), 'CreatedDate from the injected clock');
  t.equal(h.link.unackedCount, 2);
  t.equal(h.link.nextSequenceNumber, 2);
  const acked: number[] = [];
  h.link.on('ack', (s: number) => acked.push(s));
  h.link.handleMessage(peerAck(1));
  t.equal(h.link.unackedCount, 1);
  h.link.handleMessage(peerAck(1));
  h.link.handleMessage(peerAck(7));
  t.same(acked, [1], 'acks match by sequence number; unknown and repeated acks are harmless');
  h.link.handleMessage(peerAck(0));
  t.equal(h.link.unackedCount, 0);
  t.equal(h.clock.pending, 0, 'no timer left when nothing is unacked');
});

t.test('agent role: output_stream_data, only seq 0 carries Flags 1', async (t) => {
  const h = makeLink({ role: 'agent' });
  h.link.send(PayloadType.HandshakeRequest, Buffer.from('{}'));
  h.link.send(PayloadType.HandshakeComplete, Buffer.from('{}'));
  t.same(
    h.sent.map((m) => [m.messageType, m.sequenceNumber, m.flags]),
    [
      ['output_stream_data', 0, 1],
      ['output_stream_data', 1, 0],
    ],
  );
  // The agent receives input_stream_data and acks it as such.
  h.link.handleMessage(peerData(0, 'x', PayloadType.Output, MessageType.InputStreamData));
  const ack = h.sent[2];
  t.equal(ack?.messageType, 'acknowledge');
  t.equal(ack === undefined ? '' : decodeAcknowledge(ack.payload).acknowledgedMessageType, 'input_stream_data');
  t.equal(h.delivered.length, 1);
  // output_stream_data arriving at the agent is not its stream: ignored.
  h.link.handleMessage(peerData(1));
  t.equal(h.delivered.length, 1);
});

t.test('retransmission timing: initial RTO 200 ms on a 100 ms tick, resend time recorded', async (t) => {
  const h = makeLink();
  h.link.send(PayloadType.Output, Buffer.from('a'));
  const first = h.sent[0];
  const at = (ms: number): number[] => {
    h.clock.advance(ms);
    return h.streamSeqs();
  };
  t.same(at(100), [0], 't=100: not overdue');
  t.same(at(100), [0], 't=200: 200 is not > RTO 200');
  t.same(at(100), [0, 0], 't=300: resent');
  t.same(h.sent[1]?.messageId, first?.messageId, 'identical message id');
  t.same(h.sent[1]?.createdDate, first?.createdDate, 'identical bytes (same CreatedDate)');
  t.same(at(200), [0, 0], 't=500: only 200 ms since the recorded resend');
  t.same(at(100), [0, 0, 0], 't=600: resent again (upstream would have resent on every tick)');
  // An ack 50 ms after the last send gives the documented RTO.
  h.clock.advance(50);
  h.link.handleMessage(peerAck(0));
  t.equal(h.link.rtoMs, 143.75);
  t.equal(h.clock.pending, 0);
});

t.test('head-of-line: one resend per tick, oldest first', async (t) => {
  const h = makeLink();
  h.link.send(PayloadType.Output, Buffer.from('a'));
  h.link.send(PayloadType.Output, Buffer.from('b'));
  h.clock.advance(300);
  t.same(h.streamSeqs(), [0, 1, 0], 'only seq 0 is resent');
  h.link.handleMessage(peerAck(0));
  h.clock.advance(100);
  t.same(h.streamSeqs(), [0, 1, 0, 1], 'then seq 1, which is overdue');
});

t.test('in-order delivery, ack after delivery, out-of-order buffered and acked at once', async (t) => {
  const h = makeLink();
  h.link.handleMessage(peerData(2));
  h.link.handleMessage(peerData(1));
  t.same(h.acks(), [2, 1], 'out-of-order messages are acked when stored');
  t.equal(h.delivered.length, 0);
  t.equal(h.link.reorderCount, 2);
  h.link.handleMessage(peerData(0));
  t.same(
    h.delivered.map((m) => m.sequenceNumber),
    [0, 1, 2],
  );
  t.same(h.acks(), [2, 1, 0]);
  t.equal(h.link.expectedSequenceNumber, 3);
  t.equal(h.link.reorderCount, 0);
});

t.test('duplicates are dropped and re-acked', async (t) => {
  const h = makeLink();
  const dups: number[] = [];
  h.link.on('duplicate', (s: number) => dups.push(s));
  h.link.handleMessage(peerData(0));
  h.link.handleMessage(peerData(0));
  h.link.handleMessage(peerData(2));
  h.link.handleMessage(peerData(2));
  t.same(
    h.delivered.map((m) => m.sequenceNumber),
    [0],
  );
  t.same(h.acks(), [0, 0, 2, 2], 'every copy is acked');
  t.same(dups, [0, 2]);
});

t.test('deliver() = false: no ack, no advance; the retransmission is taken later', async (t) => {
  const h = makeLink();
  h.ready.value = false;
  h.link.handleMessage(peerData(0));
  t.same(h.acks(), []);
  t.equal(h.link.expectedSequenceNumber, 0);
  h.ready.value = true;
  h.link.handleMessage(peerData(0));
  t.same(h.acks(), [0]);
  t.equal(h.link.expectedSequenceNumber, 1);
});

t.test('a buffered (already acked) message refused during the drain is kept, never dropped', async (t) => {
  let refuseSeq1 = true;
  const delivered: number[] = [];
  const h2 = makeLink({
    deliver: (m) => {
      if (m.sequenceNumber === 1 && refuseSeq1) return false;
      delivered.push(m.sequenceNumber);
      return true;
    },
  });
  h2.link.handleMessage(peerData(1));
  h2.link.handleMessage(peerData(0));
  t.same(delivered, [0]);
  t.equal(h2.link.expectedSequenceNumber, 1);
  t.equal(h2.link.reorderCount, 1, 'seq 1 still held');
  refuseSeq1 = false;
  h2.link.flushDelivery();
  t.same(delivered, [0, 1]);
  t.equal(h2.link.expectedSequenceNumber, 2);
  // A retransmission of a held message is re-acked and triggers delivery too.
  refuseSeq1 = true;
  const h3 = makeLink({ deliver: (m) => (m.sequenceNumber === 1 && refuseSeq1 ? false : true) });
  h3.link.handleMessage(peerData(1));
  h3.link.handleMessage(peerData(0));
  refuseSeq1 = false;
  h3.link.handleMessage(peerData(1));
  t.same(h3.acks(), [1, 0, 1]);
  t.equal(h3.link.expectedSequenceNumber, 2);
});

t.test('handshake payload types are acked before delivery', async (t) => {
  const order: string[] = [];
  const h = makeLink({
    sendFrame: () => order.push('frame'),
    deliver: () => {
      order.push('deliver');
      return false; // ignored for handshake types
    },
  });
  h.link.handleMessage(peerData(0, '{}', PayloadType.HandshakeRequest));
  t.same(order, ['frame', 'deliver']);
  t.equal(h.link.expectedSequenceNumber, 1, 'advanced even though deliver returned false');
  order.length = 0;
  h.link.handleMessage(peerData(1, 'x', PayloadType.Output));
  t.same(order, ['deliver'], 'data: deliver first, and no ack when refused');
});

t.test('reorder buffer overflow: dropped without ack', async (t) => {
  const h = makeLink({ reorderCapacity: 1 });
  const over: number[] = [];
  h.link.on('reorder-overflow', (s: number) => over.push(s));
  h.link.handleMessage(peerData(1));
  h.link.handleMessage(peerData(2));
  t.same(h.acks(), [1]);
  t.same(over, [2]);
});

t.test('pause_publication stops sending and resending; start_publication resumes in order', async (t) => {
  const h = makeLink();
  h.link.send(PayloadType.Output, Buffer.from('a'));
  h.link.handleMessage(mgsMessage(MessageType.PausePublication));
  t.ok(h.link.isPaused);
  h.link.send(PayloadType.Output, Buffer.from('b'));
  h.clock.advance(1000);
  t.same(h.streamSeqs(), [0], 'nothing sent or resent while paused');
  t.same(h.acks(), [], 'publication messages are never acked');
  h.link.handleMessage(mgsMessage(MessageType.StartPublication));
  t.same(h.streamSeqs(), [0, 1], 'the message numbered while paused goes out at once');
  h.clock.advance(100);
  t.same(h.streamSeqs(), [0, 1, 0], 'the overdue head is resent on the next tick');
  // Any incoming stream message also clears a pause (as the agent does).
  h.link.handleMessage(mgsMessage(MessageType.PausePublication));
  h.link.handleMessage(peerData(0));
  t.notOk(h.link.isPaused);
});

t.test('full window: send returns false, never drops, drain after an ack', async (t) => {
  const h = makeLink({ windowMessages: 3 });
  let drains = 0;
  h.link.on('drain', () => drains++);
  t.ok(h.link.send(PayloadType.Output, Buffer.from('0')));
  t.ok(h.link.send(PayloadType.Output, Buffer.from('1')));
  t.notOk(h.link.send(PayloadType.Output, Buffer.from('2')), 'third message fills the window');
  t.notOk(h.link.send(PayloadType.Output, Buffer.from('3')), 'still accepted, still false');
  t.equal(h.link.unackedCount, 4, 'nothing evicted');
  t.same(h.streamSeqs(), [0, 1, 2, 3], 'every message was sent');
  h.link.handleMessage(peerAck(0));
  t.equal(drains, 0, '3 unacked: still full');
  h.link.handleMessage(peerAck(1));
  t.equal(drains, 1, 'drain once below the window');
  h.link.handleMessage(peerAck(2));
  t.equal(drains, 1, 'only once');
});

t.test('resend exhaustion: typed error after maxResends, then the link stops resending', async (t) => {
  const h = makeLink({ maxResends: 3 });
  const errors: SessionError[] = [];
  h.link.on('resend-exhausted', (e: SessionError) => errors.push(e));
  h.link.send(PayloadType.Output, Buffer.from('a'));
  h.clock.advance(5000);
  t.equal(h.streamSeqs().length, 4, 'original + 3 resends');
  t.equal(errors.length, 1);
  t.equal(errors[0]?.code, 'ERR_SESSION_RESEND_EXHAUSTED');
  t.ok(errors[0] instanceof SessionError);
  t.equal(errors[0]?.details['sequenceNumber'], 0);
  t.equal(h.clock.pending, 0, 'no more timers');
});

t.test('maxResends Infinity never gives up (the emulator agent)', async (t) => {
  const h = makeLink({ role: 'agent', maxResends: Infinity });
  let exhausted = false;
  h.link.on('resend-exhausted', () => (exhausted = true));
  h.link.send(PayloadType.Output, Buffer.from('a'));
  h.clock.advance(60_000);
  t.notOk(exhausted);
  t.ok(h.streamSeqs().length > 50);
});

t.test('disconnected: messages are numbered and kept; reconnect resends all unacked in order', async (t) => {
  const h = makeLink();
  h.link.send(PayloadType.Output, Buffer.from('a'));
  h.link.send(PayloadType.Output, Buffer.from('b'));
  h.link.handleMessage(peerAck(0));
  h.link.setConnected(false);
  t.ok(h.link.send(PayloadType.Output, Buffer.from('c')), 'send still accepts');
  h.clock.advance(2000);
  t.same(h.streamSeqs(), [0, 1], 'nothing goes out while disconnected');
  h.link.setConnected(true);
  t.same(h.streamSeqs(), [0, 1, 1, 2], 'seq 1 and 2 resent at once, in order');
  t.equal(h.link.nextSequenceNumber, 3, 'sequence numbers continue');
});

t.test('close: stops timers, send throws ERR_SESSION_CLOSED, input ignored', async (t) => {
  const h = makeLink();
  h.link.send(PayloadType.Output, Buffer.from('a'));
  t.equal(h.clock.pending, 1);
  h.link.close();
  t.equal(h.clock.pending, 0);
  t.throws(() => h.link.send(PayloadType.Output, Buffer.from('b')), { code: 'ERR_SESSION_CLOSED' });
  h.link.handleMessage(peerData(0));
  t.equal(h.delivered.length, 0);
});

t.test('a malformed ack payload is reported, not thrown', async (t) => {
  const h = makeLink();
  const errs: unknown[] = [];
  h.link.on('protocol-error', (e: unknown) => errs.push(e));
  h.link.handleMessage(mgsMessage(MessageType.Acknowledge, 'not json'));
  t.equal(errs.length, 1);
  t.match(errs[0], { code: 'ERR_SSM_BAD_JSON' });
});

t.test('option validation', async (t) => {
  t.throws(() => makeLink({ windowMessages: 0 }), RangeError);
  t.throws(() => makeLink({ resendIntervalMs: 0 }), RangeError);
});
