/** protocol/ssm/payload-cipher: AES-256-GCM sealing with fixed keys and nonces, key halves, tamper checks. */
import t from 'tap';
import {
  DATA_KEY_BYTES,
  NONCE_BYTES,
  PayloadCipher,
  SEAL_OVERHEAD_BYTES,
  TAG_BYTES,
  openPayload,
  sealPayload,
  splitDataKey,
} from '../../src/protocol/ssm/payload-cipher.js';
import { SessionError } from '../../src/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ZERO_KEY = Buffer.alloc(32);
const ZERO_NONCE = Buffer.alloc(12);

// McGrew & Viega, "The Galois/Counter Mode of Operation", AES-256 test cases 13 and 14
// (K = 0^256, IV = 0^96, no AAD).
const TC13_TAG = hex('530f8afbc74536b9a963b4f1c4cb738b');
const TC14_CT = hex('cea7403d4d606b6e074ec5d3baf39d18');
const TC14_TAG = hex('d0d1c8a799996bf0265b98b5d48ab919');

/** A data key whose halves are distinguishable: K[0..31] = 0x00…, K[32..63] = 0x11…. */
const DATA_KEY = Buffer.concat([Buffer.alloc(32, 0x00), Buffer.alloc(32, 0x11)]);

function fixedNonces(...nonces: Buffer[]): (n: number) => Buffer {
  return (n) => {
    const next = nonces.shift();
    if (next === undefined || next.length !== n) throw new Error('test ran out of nonces');
    return next;
  };
}

t.test('layout constants: nonce 12, tag 16, overhead 28, data key 64', async (t) => {
  t.equal(NONCE_BYTES, 12);
  t.equal(TAG_BYTES, 16);
  t.equal(SEAL_OVERHEAD_BYTES, 28);
  t.equal(DATA_KEY_BYTES, 64);
});

t.test('seals to nonce ‖ ciphertext ‖ tag (known-answer vectors)', async (t) => {
  const sealed = sealPayload(ZERO_KEY, ZERO_NONCE, Buffer.alloc(16));
  t.equal(sealed.toString('hex'), Buffer.concat([ZERO_NONCE, TC14_CT, TC14_TAG]).toString('hex'));
  t.equal(
    sealPayload(ZERO_KEY, ZERO_NONCE, Buffer.alloc(0)).toString('hex'),
    Buffer.concat([ZERO_NONCE, TC13_TAG]).toString('hex'),
    'empty plaintext: nonce and tag only',
  );
  const nonce = hex('000102030405060708090a0b');
  const other = sealPayload(ZERO_KEY, nonce, Buffer.alloc(16));
  t.same(other.subarray(0, 12), nonce, 'the nonce leads the payload verbatim');
  t.notSame(other.subarray(12, 28), TC14_CT, 'another nonce gives another ciphertext');
});

t.test('opens the known-answer vectors, and every seal it makes', async (t) => {
  t.same(openPayload(ZERO_KEY, Buffer.concat([ZERO_NONCE, TC14_CT, TC14_TAG])), Buffer.alloc(16));
  t.same(openPayload(ZERO_KEY, Buffer.concat([ZERO_NONCE, TC13_TAG])), Buffer.alloc(0));
  const key = Buffer.alloc(32, 0x42);
  for (const n of [1, 15, 16, 17, 1023, 1024]) {
    const p = Buffer.alloc(n, n & 0xff);
    const s = sealPayload(key, Buffer.alloc(12, n), p);
    t.equal(s.length, n + SEAL_OVERHEAD_BYTES, `${n} bytes seal to ${n + 28}`);
    t.same(openPayload(key, s), p);
  }
});

t.test('a flipped bit anywhere (nonce, ciphertext, tag) is ERR_SESSION_ENCRYPTION, never plaintext', async (t) => {
  const key = Buffer.alloc(32, 7);
  const sealed = sealPayload(key, ZERO_NONCE, Buffer.from('the quick brown fox'));
  let refused = 0;
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] = (bad[i] ?? 0) ^ 0x01;
    try {
      openPayload(key, bad);
    } catch (e) {
      if (e instanceof SessionError && e.code === 'ERR_SESSION_ENCRYPTION') refused++;
    }
  }
  t.equal(refused, sealed.length, 'every position refused');
  t.throws(
    () => openPayload(key, sealed.subarray(0, sealed.length - 1)),
    { code: 'ERR_SESSION_ENCRYPTION' },
    'truncated',
  );
  t.throws(
    () => openPayload(key, Buffer.alloc(27)),
    { code: 'ERR_SESSION_ENCRYPTION', message: /at least 28/ },
    'shorter than nonce + tag',
  );
  t.throws(() => openPayload(Buffer.alloc(32, 8), sealed), { code: 'ERR_SESSION_ENCRYPTION' }, 'another key');
});

t.test('bad key and nonce sizes are refused', async (t) => {
  t.throws(() => sealPayload(Buffer.alloc(16), ZERO_NONCE, Buffer.from('x')), { code: 'ERR_SESSION_ENCRYPTION' });
  t.throws(() => sealPayload(ZERO_KEY, Buffer.alloc(16), Buffer.from('x')), { code: 'ERR_SESSION_ENCRYPTION' });
  t.throws(() => openPayload(Buffer.alloc(31), Buffer.alloc(40)), { code: 'ERR_SESSION_ENCRYPTION' });
  t.throws(() => splitDataKey(Buffer.alloc(32), 'client'), { code: 'ERR_SESSION_ENCRYPTION', message: /64/ });
  t.throws(() => new PayloadCipher(Buffer.alloc(63), 'agent'), { code: 'ERR_SESSION_ENCRYPTION' });
});

t.test('key split: the client decrypts with K[0..31] and encrypts with K[32..63]; the agent the reverse', async (t) => {
  const c = splitDataKey(DATA_KEY, 'client');
  const a = splitDataKey(DATA_KEY, 'agent');
  t.same(c.decryptKey, Buffer.alloc(32, 0x00));
  t.same(c.encryptKey, Buffer.alloc(32, 0x11));
  t.same(a.encryptKey, Buffer.alloc(32, 0x00));
  t.same(a.decryptKey, Buffer.alloc(32, 0x11));
  const copy = Buffer.from(DATA_KEY);
  const keys = splitDataKey(copy, 'client');
  copy.fill(0xff);
  t.same(keys.encryptKey, Buffer.alloc(32, 0x11), 'the halves are copies (the caller may wipe its key)');
});

t.test('PayloadCipher: agent → client uses the K[0..31] vector; client → agent uses K[32..63]', async (t) => {
  const agent = new PayloadCipher(DATA_KEY, 'agent', fixedNonces(ZERO_NONCE));
  const client = new PayloadCipher(DATA_KEY, 'client', fixedNonces(ZERO_NONCE, ZERO_NONCE));
  const fromAgent = agent.seal(Buffer.alloc(16));
  t.equal(
    fromAgent.toString('hex'),
    Buffer.concat([ZERO_NONCE, TC14_CT, TC14_TAG]).toString('hex'),
    'agent seals with the zero half',
  );
  t.same(client.open(fromAgent), Buffer.alloc(16), 'client opens it');
  const fromClient = client.seal(Buffer.alloc(16));
  t.same(
    fromClient,
    sealPayload(Buffer.alloc(32, 0x11), ZERO_NONCE, Buffer.alloc(16)),
    'client seals with the 0x11 half',
  );
  t.same(agent.open(fromClient), Buffer.alloc(16), 'agent opens it');
  t.throws(() => client.open(fromClient), { code: 'ERR_SESSION_ENCRYPTION' }, 'a client cannot open its own direction');
  t.throws(() => agent.open(fromAgent), { code: 'ERR_SESSION_ENCRYPTION' }, 'nor can the agent');
});

t.test('PayloadCipher takes a fresh nonce per seal by default', async (t) => {
  const c = new PayloadCipher(DATA_KEY, 'client');
  const p = Buffer.from('same bytes');
  const one = c.seal(p);
  const two = c.seal(p);
  t.notSame(one.subarray(0, 12), two.subarray(0, 12), 'nonces differ');
  t.notSame(one, two, 'so do the sealed payloads');
  const a = new PayloadCipher(DATA_KEY, 'agent');
  t.same(a.open(one), p);
  t.same(a.open(two), p);
});
