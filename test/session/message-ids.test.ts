import t from 'tap';
import { randomMessageId } from '../../src/session/message-ids.js';
import { bytesToUuid } from '../../src/protocol/bytes.js';
import { decodeClientMessage, encodeClientMessage } from '../../src/protocol/ssm/index.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test('random version-4 UUIDs as 16 bytes, all different, views that stay valid', async (t) => {
  const first = randomMessageId();
  const firstText = bytesToUuid(first);
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = randomMessageId();
    const s = bytesToUuid(id);
    if (id.length !== 16 || !V4.test(s)) t.fail(`not 16 bytes of a v4 UUID: ${s}`);
    seen.add(s);
  }
  t.equal(seen.size, 5000, 'no repeats across many pools');
  t.equal(bytesToUuid(first), firstText, 'an id handed out earlier is not overwritten by later pools');
});

t.test('an id given as bytes is written in wire order and reads back as the same UUID', async (t) => {
  const id = randomMessageId();
  const frame = encodeClientMessage({
    messageType: 'input_stream_data',
    createdDate: 1700000000000,
    sequenceNumber: 1,
    flags: 0,
    messageId: id,
    payloadType: 1,
    payload: Buffer.from('x'),
  });
  t.same(frame.subarray(64, 72), id.subarray(8, 16), 'bytes 8..15 first');
  t.same(frame.subarray(72, 80), id.subarray(0, 8), 'then bytes 0..7');
  t.equal(decodeClientMessage(frame).messageId, bytesToUuid(id));
  t.throws(
    () =>
      encodeClientMessage({
        messageType: 'input_stream_data',
        createdDate: 1700000000000,
        sequenceNumber: 1,
        flags: 0,
        messageId: new Uint8Array(15),
        payloadType: 1,
        payload: Buffer.from('x'),
      }),
    { code: 'ERR_SSM_BAD_FIELD' },
  );
});
