/**
 * The client's KMS session encryption (issue #9): a `KmsHandshakeHandler` the DataChannel calls
 * when the agent's HandshakeRequest carries a KMSEncryption action.
 *
 * ```
 * KMSEncryption {KMSKeyId}  ─▶ GenerateDataKey(KeyId, NumberOfBytes 64,
 *                                 EncryptionContext {aws:ssm:SessionId, aws:ssm:TargetId})
 *                           ◀─ ActionResult {KMSCipherTextKey: base64 CiphertextBlob, KMSCipherTextHash: null}
 * EncChallengeRequest {Challenge} ─▶ open with K[0..31], seal again with K[32..63] (fresh nonce)
 * Output out ─▶ seal with K[32..63];  Output in ─▶ open with K[0..31] (bad tag ⇒ ERR_SESSION_ENCRYPTION)
 * ```
 *
 * The `Challenge` inside the KMSEncryption parameters (newer agents) is not used, as upstream
 * (docs/protocol.md §W6): no `aws:ssm:RandomChallenge` context, no ChallengeAcknowledgement.
 *
 * Current agents (3.3.1142.0) never ask for this on Port sessions; the KMS SDK client is only
 * loaded, and created once per TunnelManager, the first time an agent does.
 */
import { SessionError } from '../errors.js';
import type { AwsSettings } from '../aws/settings.js';
import type { KmsApi } from '../aws/kms.js';
import { DATA_KEY_BYTES, PayloadCipher, type NonceSource } from '../protocol/ssm/payload-cipher.js';
import type { JsonValue, KmsEncryptionParameters } from '../protocol/ssm/index.js';
import type { KmsHandshakeHandler } from '../session/handshake.js';

/** Encryption-context keys the agent decrypts the data key with (names are the wire's). */
export const CONTEXT_SESSION_ID = 'aws:ssm:SessionId';
export const CONTEXT_TARGET_ID = 'aws:ssm:TargetId';

export interface KmsSessionHandlerOptions {
  /** The KMS API (resolved lazily: the SDK is only loaded when an agent asks for encryption). */
  kms: () => Promise<KmsApi>;
  /** Nonce source for sealing; default crypto.randomBytes. Tests inject fixed nonces. */
  nonce?: NonceSource;
}

/** One session's KMS state: created per DataChannel, holds that session's key halves. */
export class KmsSessionHandler implements KmsHandshakeHandler {
  readonly #o: KmsSessionHandlerOptions;
  #cipher: PayloadCipher | undefined;

  constructor(options: KmsSessionHandlerOptions) {
    this.#o = options;
  }

  /** True once a data key is in place (Output is encrypted from then on). */
  get isKeyed(): boolean {
    return this.#cipher !== undefined;
  }

  async processKmsEncryption(
    params: KmsEncryptionParameters,
    context: { sessionId: string; targetId: string },
  ): Promise<JsonValue> {
    const api = await this.#o.kms();
    const key = await api.generateDataKey({
      keyId: params.kmsKeyId,
      numberOfBytes: DATA_KEY_BYTES,
      encryptionContext: { [CONTEXT_SESSION_ID]: context.sessionId, [CONTEXT_TARGET_ID]: context.targetId },
    });
    try {
      const cipher =
        this.#o.nonce === undefined
          ? new PayloadCipher(key.plaintext, 'client')
          : new PayloadCipher(key.plaintext, 'client', this.#o.nonce);
      this.#cipher = cipher;
    } finally {
      // The cipher keeps its own copies of the halves.
      key.plaintext.fill(0);
    }
    return { KMSCipherTextKey: key.ciphertextBlob.toString('base64'), KMSCipherTextHash: null };
  }

  answerChallenge(challengeBase64: string): string {
    const cipher = this.#requireCipher('ERR_SESSION_ENCRYPTION');
    // Opened with the agent→client half, sealed again with the client→agent half: the agent
    // thereby learns that we hold both halves of the key it unwrapped.
    const plain = cipher.open(Buffer.from(challengeBase64, 'base64'));
    const answer = cipher.seal(plain).toString('base64');
    plain.fill(0);
    return answer;
  }

  encrypt(plaintext: Buffer): Buffer {
    // Asked to encrypt without a key means encryption was agreed and setup went wrong:
    // refuse rather than let the bytes out in clear.
    return this.#requireCipher('ERR_SESSION_PLAINTEXT_REFUSED').seal(plaintext);
  }

  decrypt(ciphertext: Buffer): Buffer {
    return this.#requireCipher('ERR_SESSION_ENCRYPTION').open(ciphertext);
  }

  #requireCipher(code: 'ERR_SESSION_ENCRYPTION' | 'ERR_SESSION_PLAINTEXT_REFUSED'): PayloadCipher {
    if (this.#cipher === undefined)
      throw new SessionError(code, 'no KMS data key for this session (the KMSEncryption action was not processed)');
    return this.#cipher;
  }
}

/**
 * A factory of per-session handlers sharing one lazily created KMS client for `aws` (same
 * credentials, region and endpoint rules as the SSM client). `kms` overrides the API (tests).
 */
export function kmsHandlerFactory(
  aws: AwsSettings,
  options: { kms?: KmsApi; nonce?: NonceSource } = {},
): () => KmsSessionHandler {
  let api: Promise<KmsApi> | undefined = options.kms === undefined ? undefined : Promise.resolve(options.kms);
  const kms = (): Promise<KmsApi> => {
    api ??= import('../aws/kms.js').then((m) => m.createKmsApi(aws));
    // A failed creation (bad endpoint) is not cached: the next session tries again.
    return api.catch((e: unknown) => {
      api = undefined;
      throw e;
    });
  };
  return () => new KmsSessionHandler(options.nonce === undefined ? { kms } : { kms, nonce: options.nonce });
}
