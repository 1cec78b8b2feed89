/**
 * The client side of the data-channel handshake (docs/protocol.md §W6), as pure-ish
 * functions the DataChannel calls: answer a HandshakeRequest, and turn the agent's answers into
 * a `HandshakeResult`. KMS work is delegated to a pluggable handler (filled in by issue #9).
 *
 * ```
 * agent  HandshakeRequest  {AgentVersion, RequestedClientActions:[SessionType, KMSEncryption?]}
 * client HandshakeResponse {ClientVersion, ProcessedClientActions:[…in request order], Errors}
 * agent  EncChallengeRequest {Challenge}            (only if KMSEncryption succeeded)
 * client EncChallengeResponse {Challenge}
 * agent  HandshakeComplete {HandshakeTimeToComplete (ns), CustomerMessage}
 * ```
 */
import { SessionError } from '../errors.js';
import {
  ActionStatus,
  ActionType,
  type HandshakeRequestContent,
  type HandshakeResponseContent,
  type JsonValue,
  type KmsEncryptionParameters,
  type ProcessedClientAction,
  agentSupportsKeepAliveDisabled,
  agentSupportsMux,
  agentSupportsTerminateFlag,
  decodeEncChallenge,
  decodeHandshakeComplete,
  encodeEncChallenge,
  readKmsEncryptionParameters,
  readSessionTypeParameters,
} from '../protocol/ssm/index.js';

/**
 * KMS session encryption, pluggable (issue #9). Current agents never encrypt Port sessions, so
 * the DataChannel works without one: a KMSEncryption request is then answered "Failed".
 */
export interface KmsHandshakeHandler {
  /**
   * KMSEncryption action: generate the 64-byte data key (KMS GenerateDataKey with the
   * `aws:ssm:SessionId` / `aws:ssm:TargetId` context) and return the ActionResult JSON,
   * `{"KMSCipherTextKey":"<base64>","KMSCipherTextHash":null}`. Throw to fail the action.
   */
  processKmsEncryption(
    params: KmsEncryptionParameters,
    context: { sessionId: string; targetId: string },
  ): Promise<JsonValue>;
  /** EncChallengeRequest: decrypt with the agent's key half, re-encrypt with ours (base64 in and out). */
  answerChallenge(challengeBase64: string): Promise<string> | string;
  /** Seals an outgoing Output payload (nonce ‖ ciphertext ‖ tag). */
  encrypt(plaintext: Buffer): Buffer;
  /** Opens an incoming Output/StdErr/ExitCode payload; throws ERR_SESSION_ENCRYPTION on a bad tag. */
  decrypt(ciphertext: Buffer): Buffer;
}

export interface HandshakeResult {
  agentVersion: string;
  sessionType: string;
  properties: Record<string, string>;
  /** mux = smux over Output payloads; basic = one TCP connection; stream = stdin/stdout (no `type: LocalPortForwarding`). */
  portMode: 'mux' | 'basic' | 'stream';
  /** Whether the client's smux must keep its keep-alive on (agents ≤ 3.1.1511.0). */
  smuxKeepAlive: boolean;
  canSendTerminateFlag: boolean;
  customerMessage: string;
}

/** Session types the upstream client knows; only Port is useful to `tunnel`. */
const SHELL_SESSION_TYPES: ReadonlySet<string> = new Set([
  'Standard_Stream',
  'InteractiveCommands',
  'NonInteractiveCommands',
]);
export const PORT_SESSION_TYPE = 'Port';

export interface ProcessedHandshake {
  response: HandshakeResponseContent;
  agentVersion: string;
  sessionType: string;
  properties: Record<string, string>;
  /** Set when KMSEncryption succeeded: Output payloads are encrypted from now on. */
  encryptionEnabled: boolean;
  /** Set when the session cannot go on (e.g. not a Port session); the response is still sent. */
  failure?: SessionError;
}

/** Builds the HandshakeResponse for a request, processing actions in request order. */
export async function processHandshakeRequest(
  req: HandshakeRequestContent,
  ctx: { clientVersion: string; sessionId: string; targetId: string; kms: KmsHandshakeHandler | undefined },
): Promise<ProcessedHandshake> {
  const processed: ProcessedClientAction[] = [];
  const errors: string[] = [];
  let sessionType = '';
  let properties: Record<string, string> = {};
  let encryptionEnabled = false;
  let failure: SessionError | undefined;

  const fail = (actionType: string, reason: string, status = ActionStatus.Failed): void => {
    processed.push({
      actionType,
      actionStatus: status,
      actionResult: null,
      error: `Failed to process action ${actionType}: ${reason}`,
    });
    errors.push(reason);
  };

  for (const action of req.requestedClientActions) {
    switch (action.actionType) {
      case ActionType.SessionType: {
        let params;
        try {
          params = readSessionTypeParameters(action);
        } catch (e) {
          fail(action.actionType, e instanceof Error ? e.message : String(e));
          failure ??= new SessionError('ERR_SESSION_HANDSHAKE_FAILED', 'malformed SessionType action', { cause: e });
          break;
        }
        sessionType = params.sessionType;
        properties = params.properties;
        if (params.sessionType === PORT_SESSION_TYPE) {
          processed.push({
            actionType: action.actionType,
            actionStatus: ActionStatus.Success,
            actionResult: null,
            error: '',
          });
        } else {
          const reason = SHELL_SESSION_TYPES.has(params.sessionType)
            ? `Session type ${params.sessionType} is not supported by tunnel`
            : `Unknown session type ${params.sessionType}`;
          fail(action.actionType, reason);
          failure ??= new SessionError(
            'ERR_SESSION_UNSUPPORTED_SESSION_TYPE',
            `the agent asked for session type ${JSON.stringify(params.sessionType)}; tunnel supports Port sessions only`,
            {
              details: { sessionType: params.sessionType },
            },
          );
        }
        break;
      }
      case ActionType.KMSEncryption: {
        if (ctx.kms === undefined) {
          fail(action.actionType, 'KMS encryption is not available in this client');
          failure ??= new SessionError(
            'ERR_SESSION_ENCRYPTION',
            'the agent requires KMS encryption and no KMS handler is configured',
          );
          break;
        }
        try {
          const result = await ctx.kms.processKmsEncryption(readKmsEncryptionParameters(action), {
            sessionId: ctx.sessionId,
            targetId: ctx.targetId,
          });
          processed.push({
            actionType: action.actionType,
            actionStatus: ActionStatus.Success,
            actionResult: result,
            error: '',
          });
          encryptionEnabled = true;
        } catch (e) {
          fail(action.actionType, e instanceof Error ? e.message : String(e));
          failure ??= new SessionError('ERR_SESSION_ENCRYPTION', 'KMS encryption setup failed', { cause: e });
        }
        break;
      }
      default: {
        // Upstream writes ActionStatus 0 with the Unsupported code in ActionResult (a bug); we send
        // ActionStatus 3 Unsupported. The agent treats both as a failed action.
        const reason = `Unsupported action ${action.actionType}`;
        processed.push({
          actionType: action.actionType,
          actionStatus: ActionStatus.Unsupported,
          actionResult: null,
          error: reason,
        });
        errors.push(reason);
        break;
      }
    }
  }
  const out: ProcessedHandshake = {
    response: {
      clientVersion: ctx.clientVersion,
      processedClientActions: processed,
      errors: errors.length === 0 ? null : errors,
    },
    agentVersion: req.agentVersion,
    sessionType,
    properties,
    encryptionEnabled,
  };
  if (failure !== undefined) out.failure = failure;
  return out;
}

/** What the client decides from the agent's version and the session properties (§8.1). */
export function handshakeResult(p: {
  agentVersion: string;
  sessionType: string;
  properties: Record<string, string>;
  customerMessage: string;
}): HandshakeResult {
  const forwarding = p.properties['type'] === 'LocalPortForwarding';
  return {
    agentVersion: p.agentVersion,
    sessionType: p.sessionType,
    properties: p.properties,
    portMode: forwarding ? (agentSupportsMux(p.agentVersion) ? 'mux' : 'basic') : 'stream',
    smuxKeepAlive: !agentSupportsKeepAliveDisabled(p.agentVersion),
    canSendTerminateFlag: agentSupportsTerminateFlag(p.agentVersion),
    customerMessage: p.customerMessage,
  };
}

/**
 * The agent's HandshakeComplete payload, checked against what the HandshakeRequest said: the
 * session's `HandshakeResult`. Throws ERR_SESSION_HANDSHAKE_FAILED for a malformed body or a
 * HandshakeComplete before any HandshakeRequest (`agentVersion` still empty).
 */
export function completeHandshake(
  payload: Buffer,
  agent: { agentVersion: string; sessionType: string; properties: Record<string, string> },
): HandshakeResult {
  let customerMessage: string;
  try {
    customerMessage = decodeHandshakeComplete(payload).customerMessage;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SessionError('ERR_SESSION_HANDSHAKE_FAILED', `bad HandshakeComplete: ${why}`, { cause: e });
  }
  if (agent.agentVersion === '')
    throw new SessionError('ERR_SESSION_HANDSHAKE_FAILED', 'HandshakeComplete arrived before any HandshakeRequest');
  return handshakeResult({ ...agent, customerMessage });
}

/**
 * The EncChallengeResponse payload for an EncChallengeRequest (KMS encryption, issue #9).
 * Throws ERR_SESSION_ENCRYPTION when encryption was not agreed or the handler fails (a
 * SessionError of the handler's own is passed on).
 */
export async function answerEncChallenge(
  kms: KmsHandshakeHandler | undefined,
  agreed: boolean,
  payload: Buffer,
): Promise<Buffer> {
  try {
    if (kms === undefined || !agreed)
      throw new SessionError('ERR_SESSION_ENCRYPTION', 'EncChallengeRequest without agreed encryption');
    return encodeEncChallenge(await kms.answerChallenge(decodeEncChallenge(payload)));
  } catch (e) {
    if (e instanceof SessionError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new SessionError('ERR_SESSION_ENCRYPTION', `encryption challenge failed: ${why}`, { cause: e });
  }
}
