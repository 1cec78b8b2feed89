/**
 * Issue #9: a minimal KMS (`TrentService.GenerateDataKey`, `TrentService.Decrypt`) on the
 * emulator's API endpoint, SigV4 service name `kms`.
 *
 * Keys are the `kmsKeyId`s of the emulated instances (accepted as the id, the key ARN, or exactly
 * the configured string, e.g. an `alias/…`). A ciphertext blob is this emulator's own authenticated
 * wrapping of the plaintext data key under a per-emulator random master key:
 *
 *   version (1 byte, 0x01) | keyIdLength (u16 BE) | keyId (UTF-8) | iv (12) | tag (16) | ciphertext
 *
 * sealed with AES-256-GCM, whose additional data binds the key id and the canonical (sorted)
 * encryption context, so Decrypt with another context fails with InvalidCiphertextException as in
 * KMS. Blobs do not survive an emulator restart (the master key is not persisted).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EmulatorState } from '../state.js';
import { AwsFault, checkAccess, isRecord, kmsKeyArn, requireString, validationError, type JsonObject } from './wire.js';

type KmsOperation = (state: EmulatorState, body: JsonObject) => JsonObject;

const BLOB_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MASTER_KEYS = new WeakMap<EmulatorState, Buffer>();

function masterKey(state: EmulatorState): Buffer {
  let k = MASTER_KEYS.get(state);
  if (!k) {
    k = randomBytes(32);
    MASTER_KEYS.set(state, k);
  }
  return k;
}

/** The configured key id a request's `KeyId` names, or undefined. */
function findKey(state: EmulatorState, keyId: string): string | undefined {
  for (const i of state.instances.values()) {
    const k = i.kmsKeyId;
    if (k === undefined) continue;
    if (keyId === k || keyId === kmsKeyArn(state.options.region, k)) return k;
  }
  return undefined;
}

function notFound(state: EmulatorState, keyId: string): AwsFault {
  return new AwsFault('NotFoundException', `Key '${kmsKeyArn(state.options.region, keyId)}' does not exist`);
}

/** Validate an EncryptionContext member: a map of string to string (absent = empty). */
function readContext(body: JsonObject): Record<string, string> {
  const v = body['EncryptionContext'];
  if (v === undefined || v === null) return {};
  if (!isRecord(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new AwsFault('SerializationException', 'EncryptionContext must be a map of strings to strings.');
  }
  return v as Record<string, string>;
}

function additionalData(keyId: string, context: Record<string, string>): Buffer {
  const sorted = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify([keyId, sorted]), 'utf8');
}

/** Seal `plaintext` for `keyId` (a configured key id) under `context`. */
export function wrapDataKey(
  state: EmulatorState,
  keyId: string,
  plaintext: Buffer,
  context: Record<string, string>,
): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey(state), iv);
  cipher.setAAD(additionalData(keyId, context));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const id = Buffer.from(keyId, 'utf8');
  const head = Buffer.alloc(3);
  head.writeUInt8(BLOB_VERSION, 0);
  head.writeUInt16BE(id.length, 1);
  return Buffer.concat([head, id, iv, cipher.getAuthTag(), ct]);
}

/**
 * Open a blob made by `wrapDataKey`. Throws AwsFault `InvalidCiphertextException` when the blob is
 * malformed, was tampered with, or `context` differs from the one it was sealed with. The emulated
 * agent can call this directly (in process) to learn the data key of a session.
 */
export function unwrapDataKey(
  state: EmulatorState,
  blob: Buffer,
  context: Record<string, string>,
): { keyId: string; plaintext: Buffer } {
  const invalid = new AwsFault(
    'InvalidCiphertextException',
    'The ciphertext is invalid, was not made by this key, or its encryption context does not match.',
  );
  if (blob.length < 3 || blob.readUInt8(0) !== BLOB_VERSION) throw invalid;
  const idLength = blob.readUInt16BE(1);
  const ivAt = 3 + idLength;
  const tagAt = ivAt + IV_BYTES;
  const ctAt = tagAt + TAG_BYTES;
  if (blob.length < ctAt) throw invalid;
  const keyId = blob.subarray(3, ivAt).toString('utf8');
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey(state), blob.subarray(ivAt, tagAt));
    decipher.setAAD(additionalData(keyId, context));
    decipher.setAuthTag(blob.subarray(tagAt, ctAt));
    const plaintext = Buffer.concat([decipher.update(blob.subarray(ctAt)), decipher.final()]);
    return { keyId, plaintext };
  } catch {
    throw invalid;
  }
}

function readBlob(body: JsonObject, key: string, member: string): Buffer {
  const v = body[key];
  if (v === undefined || v === null) throw validationError(member, v, 'Member must not be null');
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
    throw new AwsFault('SerializationException', `${key} must be base64.`);
  const b = Buffer.from(v, 'base64');
  if (b.length < 1) throw validationError(member, '', 'Member must have length greater than or equal to 1');
  return b;
}

function generateDataKey(state: EmulatorState, body: JsonObject): JsonObject {
  const requested = requireString(body, 'KeyId', 'keyId');
  const keyId = findKey(state, requested);
  checkAccess(state, 'kms:GenerateDataKey', kmsKeyArn(state.options.region, keyId ?? requested));
  if (keyId === undefined) throw notFound(state, requested);
  const context = readContext(body);
  const spec = body['KeySpec'];
  const bytes = body['NumberOfBytes'];
  if ((spec === undefined || spec === null) === (bytes === undefined || bytes === null)) {
    throw new AwsFault('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  let length: number;
  if (spec !== undefined && spec !== null) {
    if (spec === 'AES_256') length = 32;
    else if (spec === 'AES_128') length = 16;
    else throw validationError('keySpec', spec, 'Member must satisfy enum value set: [AES_256, AES_128]');
  } else {
    if (typeof bytes !== 'number' || !Number.isInteger(bytes))
      throw new AwsFault('SerializationException', 'NumberOfBytes must be an integer.');
    if (bytes < 1 || bytes > 1024)
      throw validationError(
        'numberOfBytes',
        String(bytes),
        bytes < 1
          ? 'Member must have value greater than or equal to 1'
          : 'Member must have value less than or equal to 1024',
      );
    length = bytes;
  }
  const plaintext = randomBytes(length);
  const blob = wrapDataKey(state, keyId, plaintext, context);
  return {
    CiphertextBlob: blob.toString('base64'),
    Plaintext: plaintext.toString('base64'),
    KeyId: kmsKeyArn(state.options.region, keyId),
  };
}

function decrypt(state: EmulatorState, body: JsonObject): JsonObject {
  const blob = readBlob(body, 'CiphertextBlob', 'ciphertextBlob');
  const context = readContext(body);
  const requested = body['KeyId'];
  if (requested !== undefined && requested !== null && typeof requested !== 'string')
    throw new AwsFault('SerializationException', 'KeyId must be a string.');
  const { keyId, plaintext } = unwrapDataKey(state, blob, context);
  checkAccess(state, 'kms:Decrypt', kmsKeyArn(state.options.region, keyId));
  if (typeof requested === 'string' && findKey(state, requested) !== keyId) {
    throw new AwsFault(
      'IncorrectKeyException',
      'The key ID in the request does not identify a CMK that can perform this operation.',
    );
  }
  if (findKey(state, keyId) === undefined) throw notFound(state, keyId);
  return {
    KeyId: kmsKeyArn(state.options.region, keyId),
    Plaintext: plaintext.toString('base64'),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  };
}

export const KMS_OPERATIONS: ReadonlyMap<string, KmsOperation> = new Map<string, KmsOperation>([
  ['GenerateDataKey', generateDataKey],
  ['Decrypt', decrypt],
]);
