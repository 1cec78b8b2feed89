/**
 * Output payloads once KMS encryption was agreed (issue #9): every Output message is sealed on
 * the way out and opened on the way in, one ≤ 1024-byte message at a time, as the agent does.
 * Plaintext never leaves after the agreement: no handler, a handler that throws, or one that
 * hands the bytes back unchanged is ERR_SESSION_PLAINTEXT_REFUSED.
 */
import { SessionError } from '../errors.js';
import type { KmsHandshakeHandler } from './handshake.js';

/** Seals one Output chunk; throws ERR_SESSION_PLAINTEXT_REFUSED rather than send it in the clear. */
export function sealOutput(kms: KmsHandshakeHandler | undefined, chunk: Buffer): Buffer {
  let sealed: Buffer | undefined;
  let cause: unknown;
  try {
    sealed = kms?.encrypt(chunk);
  } catch (e) {
    cause = e;
  }
  if (sealed !== undefined && !sealed.equals(chunk)) return sealed;
  throw new SessionError(
    'ERR_SESSION_PLAINTEXT_REFUSED',
    'refusing to send a plaintext Output: KMS encryption was agreed for this session',
    cause === undefined ? {} : { cause },
  );
}

/**
 * Opens one Output payload; throws ERR_SESSION_PLAINTEXT_REFUSED without a handler, and
 * ERR_SESSION_ENCRYPTION (or the handler's own SessionError) when it does not open.
 */
export function openOutput(kms: KmsHandshakeHandler | undefined, payload: Buffer): Buffer {
  if (kms === undefined)
    throw new SessionError('ERR_SESSION_PLAINTEXT_REFUSED', 'encryption was agreed but nothing can open Output');
  try {
    return kms.decrypt(payload);
  } catch (e) {
    if (e instanceof SessionError) throw e;
    throw new SessionError('ERR_SESSION_ENCRYPTION', 'an Output payload failed to decrypt', { cause: e });
  }
}
