/**
 * Wire constants of the Session Manager data channel: MessageType strings, PayloadType and
 * Flag codes, handshake action statuses.
 *
 * Source: docs/protocol.md §W3 (session-manager-plugin 1.2.677.0
 * `src/message/clientmessage.go`; amazon-ssm-agent 3.3.1142.0 `agent/session/contracts`).
 */

/** MessageType strings (the 32-byte, space-padded header field). */
export const MessageType = {
  /** client → agent, sequenced. */
  InputStreamData: 'input_stream_data',
  /** agent → client, sequenced. */
  OutputStreamData: 'output_stream_data',
  /** either direction, unsequenced (seq 0, Flags 3, PayloadType 0). */
  Acknowledge: 'acknowledge',
  /** MGS → peer: the session is over; JSON payload with an Output text. */
  ChannelClosed: 'channel_closed',
  /** MGS → peer: the other side is active again. Never acked. */
  StartPublication: 'start_publication',
  /** MGS → peer: the other side is inactive. Never acked. */
  PausePublication: 'pause_publication',
  /** agent → MGS only (consumed by MGS; a client never sees it). */
  AgentSessionState: 'agent_session_state',
} as const;
export type MessageTypeName = (typeof MessageType)[keyof typeof MessageType];

const KNOWN_MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.values(MessageType));

/** True for a MessageType this codec knows. */
export function isKnownMessageType(s: string): s is MessageTypeName {
  return KNOWN_MESSAGE_TYPES.has(s);
}

/** True for the two sequenced stream types. */
export function isStreamDataType(s: string): boolean {
  return s === MessageType.InputStreamData || s === MessageType.OutputStreamData;
}

/** PayloadType (uint32 at offset 112). Acks and MGS messages carry 0. */
export enum PayloadType {
  Output = 1,
  Error,
  Size,
  Parameter,
  HandshakeRequest,
  HandshakeResponse,
  HandshakeComplete,
  EncChallengeRequest,
  EncChallengeResponse,
  Flag,
  StdErr,
  ExitCode,
}

/** Highest PayloadType value on the wire (ExitCode). */
export const MAX_PAYLOAD_TYPE = PayloadType.ExitCode;

/** Flag payloads (PayloadType 10): a 4-byte big-endian uint32. */
export enum FlagCode {
  /** client, basic mode only: the local TCP connection closed. */
  DisconnectToPort = 1,
  /** client: the user ends the session. */
  TerminateSession = 2,
  /** agent, mux mode only: dialing the destination for a new stream failed. */
  ConnectToPortError = 3,
}

/** Header `Flags` values actually used (bit 0 = SYN, bit 1 = FIN). */
export const MessageFlags = {
  /** every stream message except the agent's first. */
  Data: 0,
  /** the agent's first output_stream_data (seq 0, the HandshakeRequest). */
  Syn: 1,
  /** acknowledge (SYN + FIN: a self-contained message). */
  Ack: 3,
} as const;

/** HandshakeResponse ActionStatus. */
export enum ActionStatus {
  Success = 1,
  Failed = 2,
  Unsupported = 3,
}

/** Largest payload of one Output message (StreamDataPayloadSize). */
export const STREAM_DATA_PAYLOAD_SIZE = 1024;
