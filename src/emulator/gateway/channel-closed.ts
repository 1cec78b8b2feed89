/**
 * `channel_closed`, the record MGS originates to end a session for the client.
 *
 * Header: MessageType `channel_closed`, SequenceNumber 0, Flags 0, PayloadType 0 (as recorded in
 * `real-agent-terminate-api.jsonl`), a non-zero CreatedDate and a valid SHA-256 digest (the client
 * checks it). Payload JSON (docs/protocol.md §W10): MessageId, CreatedDate (a string),
 * DestinationId, SessionId, MessageType, SchemaVersion 1, Output (shown to the user).
 */
import { randomUUID } from 'node:crypto';
import { encodeClientMessage } from '../../protocol/ssm/client-message.js';
import { MessageType } from '../../protocol/ssm/message-type.js';
import { encodeChannelClosed } from '../../protocol/ssm/payloads.js';

/** [K] The service's idle-timeout text (Session Manager preferences, default 20 minutes). */
export const IDLE_TIMEOUT_TEXT = 'Your session timed out due to inactivity and has been terminated.';
/**
 * The text the emulator uses when the maximum session duration is reached. Not documented in
 * the shared protocol docs (no [S] or [K] source): wording chosen to match the idle text's style.
 */
export const MAX_DURATION_TEXT = 'Your session has been terminated because it reached the maximum session duration.';

/**
 * CreatedDate of the JSON payload. The exact format is not observable in the sources [I]; the
 * fixture relay used RFC 3339 with milliseconds, which is what this gives.
 */
export function channelClosedDate(wallMs: number): string {
  return new Date(wallMs).toISOString();
}

export function encodeChannelClosedRecord(input: {
  sessionId: string;
  destinationId: string;
  output: string;
  wallMs: number;
  messageId?: string;
}): Buffer {
  const messageId = input.messageId ?? randomUUID();
  return encodeClientMessage({
    messageType: MessageType.ChannelClosed,
    createdDate: input.wallMs,
    sequenceNumber: 0,
    flags: 0,
    messageId,
    payloadType: 0,
    payload: encodeChannelClosed({
      messageId,
      createdDate: channelClosedDate(input.wallMs),
      destinationId: input.destinationId,
      sessionId: input.sessionId,
      messageType: MessageType.ChannelClosed,
      schemaVersion: 1,
      output: input.output,
    }),
  });
}
