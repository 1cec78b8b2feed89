/**
 * Random MessageIds as 16 bytes, for the records a ReliableLink sends.
 *
 * Every record needs a fresh version-4 UUID (upstream uses uuid.NewV4 for stream data and acks
 * alike; peers match acks by sequence number, so the id only has to be unique). A record id is
 * written into the frame as bytes, so formatting a string with `crypto.randomUUID` and parsing
 * it back costs about 0.35 µs per record for nothing. Here the bytes come from a pool filled by
 * the CSPRNG 256 ids at a time, and each id is a 16-byte view of it (views stay valid: a spent
 * pool is replaced, never refilled in place).
 */
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
const POOL_IDS = 256;

let pool = Buffer.alloc(0);
let at = 0;

/** A fresh random version-4 UUID (RFC 4122 variant) as its 16 canonical-order bytes. */
export function randomMessageId(): Buffer {
  if (at + ID_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(ID_BYTES * POOL_IDS));
    at = 0;
  }
  const id = pool.subarray(at, at + ID_BYTES);
  at += ID_BYTES;
  id[6] = ((id[6] as number) & 0x0f) | 0x40; // version 4
  id[8] = ((id[8] as number) & 0x3f) | 0x80; // variant 10xx
  return id;
}
