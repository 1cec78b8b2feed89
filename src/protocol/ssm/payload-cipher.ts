/**
 * KMS session encryption of data-channel payloads (issue #9): AES-256-GCM with the two halves of
 * a 64-byte KMS data key, one half per direction.
 *
 * ```
 *  sealed payload  = nonce (12) ‖ ciphertext (n) ‖ tag (16)          length n + 28
 *  data key K (64) = K[0..31]  agent → client  (agent encrypts, client decrypts)
 *                    K[32..63] client → agent  (client encrypts, agent decrypts)
 * ```
 *
 * No additional authenticated data. Each sealed payload is one ClientMessage payload (one ≤ 1024
 * byte Output chunk before sealing); the message's PayloadDigest covers the sealed bytes.
 *
 * Source: docs/protocol.md §W6–§W7 (plugin `src/encryption/encrypter.go`, agent
 * `agent/session/crypto/blockcipher.go`): facts only.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SessionError } from '../../errors.js';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes a sealed payload has beyond its plaintext. */
export const SEAL_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES;
/** The data key is 64 bytes: GenerateDataKey is called with NumberOfBytes 64. */
export const DATA_KEY_BYTES = 64;
/** Each direction uses one AES-256 key (32 bytes). */
export const DIRECTION_KEY_BYTES = DATA_KEY_BYTES / 2;

const ALGORITHM = 'aes-256-gcm';

/** Which end of the data channel holds the key: the halves are used the other way round. */
export type CipherSide = 'client' | 'agent';

/** Source of fresh nonces; tests inject fixed ones. */
export type NonceSource = (bytes: number) => Buffer;

/** The per-direction keys of one end. */
export interface DirectionKeys {
  /** Key for payloads this end sends. */
  encryptKey: Buffer;
  /** Key for payloads this end receives. */
  decryptKey: Buffer;
}

/** Split a 64-byte data key for `side` (copies: the caller may wipe its buffer). */
export function splitDataKey(dataKey: Buffer, side: CipherSide): DirectionKeys {
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw new SessionError(
      'ERR_SESSION_ENCRYPTION',
      `the KMS data key is ${dataKey.length} bytes; expected ${DATA_KEY_BYTES}`,
    );
  }
  const low = Buffer.from(dataKey.subarray(0, DIRECTION_KEY_BYTES));
  const high = Buffer.from(dataKey.subarray(DIRECTION_KEY_BYTES));
  // The agent encrypts with K[0..31] and decrypts with K[32..63]; the client the reverse.
  return side === 'client' ? { encryptKey: high, decryptKey: low } : { encryptKey: low, decryptKey: high };
}

/** nonce ‖ AES-256-GCM(key, nonce, plaintext) ‖ tag. `nonce` must be 12 bytes and never reused with `key`. */
export function sealPayload(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  if (key.length !== DIRECTION_KEY_BYTES)
    throw new SessionError(
      'ERR_SESSION_ENCRYPTION',
      `an AES-256 key is ${DIRECTION_KEY_BYTES} bytes (got ${key.length})`,
    );
  if (nonce.length !== NONCE_BYTES)
    throw new SessionError('ERR_SESSION_ENCRYPTION', `a GCM nonce is ${NONCE_BYTES} bytes (got ${nonce.length})`);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  const out = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD_BYTES);
  nonce.copy(out, 0);
  // GCM is a stream mode: update() returns exactly as many bytes as it is given, final() none.
  let at = NONCE_BYTES + cipher.update(plaintext).copy(out, NONCE_BYTES);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/**
 * Open a sealed payload. Throws `ERR_SESSION_ENCRYPTION` when it is too short to hold a nonce and
 * a tag, or when the tag does not verify (tampered bytes, or another key). Nothing decrypted is
 * returned unless the whole payload authenticated.
 */
export function openPayload(key: Buffer, sealed: Buffer): Buffer {
  if (key.length !== DIRECTION_KEY_BYTES)
    throw new SessionError(
      'ERR_SESSION_ENCRYPTION',
      `an AES-256 key is ${DIRECTION_KEY_BYTES} bytes (got ${key.length})`,
    );
  if (sealed.length < SEAL_OVERHEAD_BYTES) {
    throw new SessionError(
      'ERR_SESSION_ENCRYPTION',
      `an encrypted payload is at least ${SEAL_OVERHEAD_BYTES} bytes (got ${sealed.length})`,
      {
        details: { payloadBytes: sealed.length },
      },
    );
  }
  const tagAt = sealed.length - TAG_BYTES;
  const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(tagAt));
  const body = decipher.update(sealed.subarray(NONCE_BYTES, tagAt));
  try {
    // final() is where GCM checks the tag; `body` is discarded unless it passes.
    decipher.final();
  } catch (e) {
    body.fill(0);
    throw new SessionError(
      'ERR_SESSION_ENCRYPTION',
      'an encrypted payload failed authentication (tampered, or sealed with another key)',
      {
        cause: e,
        details: { payloadBytes: sealed.length },
      },
    );
  }
  return body;
}

/** One end's cipher for a session: seals what it sends, opens what it receives. */
export class PayloadCipher {
  readonly #keys: DirectionKeys;
  readonly #nonce: NonceSource;

  /** `dataKey` is the 64-byte KMS plaintext; `nonce` defaults to crypto.randomBytes (a fresh random nonce per payload). */
  constructor(dataKey: Buffer, side: CipherSide, nonce: NonceSource = randomBytes) {
    this.#keys = splitDataKey(dataKey, side);
    this.#nonce = nonce;
  }

  /** Seal a payload this end sends. */
  seal(plaintext: Buffer): Buffer {
    return sealPayload(this.#keys.encryptKey, this.#nonce(NONCE_BYTES), plaintext);
  }

  /** Open a payload this end received; throws `ERR_SESSION_ENCRYPTION` on a bad tag. */
  open(sealed: Buffer): Buffer {
    return openPayload(this.#keys.decryptKey, sealed);
  }
}
