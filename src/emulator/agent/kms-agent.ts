/**
 * The emulated agent's side of KMS session encryption (issue #9), for instances configured with
 * `kmsKeyId`.
 *
 * NOTE: the real agent (3.3.1142.0) never encrypts Port sessions (docs/protocol.md §W6,
 * item 14): this is an emulator option so users can test clients against a future agent that
 * does. The wire steps follow what the agent does for shell sessions (docs/protocol.md §W6–§W7):
 *
 * ```
 * agent  HandshakeRequest  actions [SessionType, KMSEncryption {KMSKeyId, Challenge: base64 16 random}]
 * client HandshakeResponse KMSEncryption ActionResult {KMSCipherTextKey: base64 blob}
 *        agent: KMS Decrypt(blob, {aws:ssm:SessionId, aws:ssm:TargetId}) → K (64 bytes)
 * agent  EncChallengeRequest (PT 8, agent seq 1) {Challenge: base64 seal(K[0..31], 64 random bytes)}
 * client EncChallengeResponse (PT 9) {Challenge: base64 seal(K[32..63], same 64 bytes)}
 *        agent: open with K[32..63], compare; mismatch ⇒ session fails
 * agent  HandshakeComplete {CustomerMessage: "This session is encrypted using AWS KMS."}
 * then   Output: agent seals with K[0..31], opens with K[32..63]
 * ```
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  ActionType,
  decodeEncChallenge,
  encodeEncChallenge,
  kmsEncryptionAction,
  type ProcessedClientAction,
  type RequestedClientAction,
} from '../../protocol/ssm/payloads.js';
import { DATA_KEY_BYTES, PayloadCipher } from '../../protocol/ssm/payload-cipher.js';
import { SessionError } from '../../errors.js';

export const KMS_CUSTOMER_MESSAGE = 'This session is encrypted using AWS KMS.';
/** Random bytes in the KMSEncryption action's `Challenge` parameter (newer agents). */
export const ACTION_CHALLENGE_BYTES = 16;
/** Random bytes the EncChallengeRequest seals. */
export const ENC_CHALLENGE_BYTES = 64;

/** Encryption-context keys of the data key (the client's GenerateDataKey uses the same). */
const CONTEXT_SESSION_ID = 'aws:ssm:SessionId';
const CONTEXT_TARGET_ID = 'aws:ssm:TargetId';

export interface AgentKmsOptions {
  /** The instance's `kmsKeyId`, sent as KMSKeyId. */
  kmsKeyId: string;
  /** KMS Decrypt of a KMSCipherTextKey, in process (`unwrapDataKey(state, blob, context).plaintext`). Throws when it does not open. */
  unwrapDataKey(blob: Buffer, context: Record<string, string>): Buffer;
  /** Random source for challenges and nonces; default crypto.randomBytes. */
  random?: (bytes: number) => Buffer;
}

/** A step's outcome: on failure, the text the plugin fails the session with. */
export type KmsStep<T> = { ok: true; value: T } | { ok: false; output: string };

/**
 * One session's KMS state on the agent side. `PortAgent` calls `requestedAction()` for its
 * HandshakeRequest, `handleHandshakeResponse()` with the client's processed actions,
 * `handleChallengeResponse()` with the EncChallengeResponse payload, then `seal`/`open` on Output.
 */
export class AgentKmsSession {
  readonly #o: AgentKmsOptions;
  readonly #context: Record<string, string>;
  readonly #random: (bytes: number) => Buffer;
  #cipher: PayloadCipher | undefined;
  #challenge: Buffer | undefined;
  #verified = false;

  constructor(options: AgentKmsOptions, ids: { sessionId: string; instanceId: string }) {
    this.#o = options;
    this.#random = options.random ?? randomBytes;
    this.#context = { [CONTEXT_SESSION_ID]: ids.sessionId, [CONTEXT_TARGET_ID]: ids.instanceId };
  }

  /** True once the challenge was answered correctly: Output is encrypted both ways. */
  get isEstablished(): boolean {
    return this.#verified;
  }

  /** The KMSEncryption action for the HandshakeRequest (after SessionType). */
  requestedAction(): RequestedClientAction {
    return kmsEncryptionAction({
      kmsKeyId: this.#o.kmsKeyId,
      challenge: this.#random(ACTION_CHALLENGE_BYTES).toString('base64'),
    });
  }

  /**
   * The client's processed actions (every status already checked to be Success): unwrap the
   * data key and build the EncChallengeRequest payload.
   */
  handleHandshakeResponse(actions: readonly ProcessedClientAction[]): KmsStep<Buffer> {
    const action = actions.find((a) => a.actionType === ActionType.KMSEncryption);
    if (action === undefined)
      return { ok: false, output: 'KMSEncryption failed on client: the HandshakeResponse has no KMSEncryption action' };
    const result = action.actionResult;
    const blobText =
      typeof result === 'object' && result !== null && !Array.isArray(result) ? result['KMSCipherTextKey'] : undefined;
    if (typeof blobText !== 'string' || blobText === '')
      return { ok: false, output: 'KMSEncryption failed on client: no KMSCipherTextKey in the ActionResult' };
    let dataKey: Buffer;
    try {
      dataKey = this.#o.unwrapDataKey(Buffer.from(blobText, 'base64'), this.#context);
    } catch (e) {
      return { ok: false, output: `Fetching data key failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (dataKey.length !== DATA_KEY_BYTES)
      return {
        ok: false,
        output: `Fetching data key failed: the data key is ${dataKey.length} bytes, expected ${DATA_KEY_BYTES}`,
      };
    this.#cipher = new PayloadCipher(dataKey, 'agent', this.#random);
    dataKey.fill(0);
    this.#challenge = this.#random(ENC_CHALLENGE_BYTES);
    return { ok: true, value: encodeEncChallenge(this.#cipher.seal(this.#challenge).toString('base64')) };
  }

  /** The EncChallengeResponse payload: the same bytes sealed with the client→agent half? */
  handleChallengeResponse(payload: Buffer): KmsStep<void> {
    const cipher = this.#cipher;
    const expected = this.#challenge;
    if (cipher === undefined || expected === undefined)
      return { ok: false, output: 'Encryption challenge failed: no challenge was sent' };
    let got: Buffer;
    try {
      got = cipher.open(Buffer.from(decodeEncChallenge(payload), 'base64'));
    } catch (e) {
      return { ok: false, output: `Encryption challenge failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return { ok: false, output: 'Encryption challenge failed: the client answered with other bytes' };
    }
    this.#verified = true;
    this.#challenge = undefined;
    return { ok: true, value: undefined };
  }

  /** Seal an outgoing Output payload (agent→client half). */
  seal(plaintext: Buffer): Buffer {
    return this.#requireCipher().seal(plaintext);
  }

  /** Open an incoming Output payload (client→agent half); throws ERR_SESSION_ENCRYPTION on a bad tag. */
  open(sealed: Buffer): Buffer {
    return this.#requireCipher().open(sealed);
  }

  #requireCipher(): PayloadCipher {
    if (this.#cipher === undefined || !this.#verified)
      throw new SessionError('ERR_SESSION_ENCRYPTION', 'KMS encryption is not established for this session');
    return this.#cipher;
  }
}
