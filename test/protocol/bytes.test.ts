/**
 * The 64-bit integer and UUID helpers of protocol/bytes.ts: the 32-bit-word fast paths must agree
 * with BigInt arithmetic at every boundary, and refuse exactly the values outside ±(2^53 - 1).
 */
import t from 'tap';
import {
  bytesToUuid,
  isUuid,
  readI64AsSafeNumber,
  readU64AsSafeNumber,
  uuidToBytes,
  writeI64,
  writeU64,
  writeUuid,
} from '../../src/protocol/bytes.js';
import { readMessageId, writeMessageId } from '../../src/protocol/ssm/client-message.js';

const MAX = Number.MAX_SAFE_INTEGER;

t.test('unsigned 64-bit: boundaries read and written as BigInt would', async (t) => {
  for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1733100000000, 2 ** 52, MAX]) {
    const b = Buffer.alloc(8);
    writeU64(b, 0, v, 'F');
    const ref = Buffer.alloc(8);
    ref.writeBigUInt64BE(BigInt(v));
    t.same(b, ref, `write ${v}`);
    t.equal(readU64AsSafeNumber(ref, 0, 'F'), v, `read ${v}`);
  }
  for (const big of [2n ** 53n, 2n ** 64n - 1n, 2n ** 63n]) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(big);
    t.throws(() => readU64AsSafeNumber(b, 0, 'F'), { code: 'ERR_SSM_UNSAFE_INTEGER' }, `${big} refused`);
  }
  t.throws(() => writeU64(Buffer.alloc(8), 0, -1, 'F'), { code: 'ERR_SSM_BAD_FIELD' });
  t.throws(() => writeU64(Buffer.alloc(8), 0, MAX + 1, 'F'), { code: 'ERR_SSM_BAD_FIELD' });
});

t.test('signed 64-bit: boundaries on both sides of zero', async (t) => {
  for (const v of [0, 1, -1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 31), MAX, -MAX, 12345678901]) {
    const b = Buffer.alloc(8);
    writeI64(b, 0, v, 'F');
    const ref = Buffer.alloc(8);
    ref.writeBigInt64BE(BigInt(v));
    t.same(b, ref, `write ${v}`);
    t.equal(readI64AsSafeNumber(ref, 0, 'F'), v, `read ${v}`);
  }
  for (const big of [2n ** 53n, -(2n ** 53n), -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 53n) - 1n]) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(big);
    t.throws(() => readI64AsSafeNumber(b, 0, 'F'), { code: 'ERR_SSM_UNSAFE_INTEGER' }, `${big} refused`);
  }
});

t.test('UUIDs: written in place, halves swapped for the MessageId, read back canonical', async (t) => {
  const id = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  const plain = Buffer.alloc(16);
  writeUuid(plain, 0, id, false);
  t.same(plain, uuidToBytes(id));
  t.equal(bytesToUuid(plain), id);
  const wire = Buffer.alloc(20, 0xee);
  writeMessageId(wire, 2, id);
  t.same(wire.subarray(2, 10), uuidToBytes(id).subarray(8, 16), 'bytes 8..15 first');
  t.same(wire.subarray(10, 18), uuidToBytes(id).subarray(0, 8), 'then bytes 0..7');
  t.equal(wire[1], 0xee, 'nothing written before');
  t.equal(wire[18], 0xee, 'nothing written after');
  t.equal(readMessageId(wire, 2), id);
  t.equal(readMessageId(Buffer.from(wire), 2), id.toLowerCase());
  t.throws(() => writeMessageId(Buffer.alloc(16), 0, 'not-a-uuid'), { code: 'ERR_SSM_BAD_FIELD' });
  const upper = id.toUpperCase();
  const u = Buffer.alloc(16);
  writeMessageId(u, 0, upper);
  t.equal(readMessageId(u, 0), id, 'upper-case input reads back lower-case');
});

t.test('UUID strings: exactly the 8-4-4-4-12 hex form, checked char by char', async (t) => {
  const id = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  const re = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const cases = [id, id.toUpperCase(), '', id.slice(1), `${id}0`, id.replace(/-/g, ''), id.replace(/-/g, 'x')];
  // Every position replaced by characters at the edges of the hex ranges, a dash, and non-ASCII.
  for (let i = 0; i < id.length; i++)
    for (const c of ['/', '0', '9', ':', '@', 'A', 'F', 'G', '`', 'a', 'f', 'g', '-', 'é', '０', '\u0130', '\0'])
      cases.push(id.slice(0, i) + c + id.slice(i + 1));
  for (const s of cases) {
    const want = re.test(s);
    t.equal(isUuid(s), want, JSON.stringify(s));
    const buf = Buffer.alloc(16);
    if (want) {
      writeUuid(buf, 0, s, false);
      t.same(buf, Buffer.from(s.replace(/-/g, ''), 'hex'), `bytes of ${s}`);
    } else t.throws(() => writeUuid(buf, 0, s, true), { code: 'ERR_SSM_BAD_FIELD' }, JSON.stringify(s));
  }
});
