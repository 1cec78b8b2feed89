/** Builds agent-side frames for DataChannel tests (encoded with our codec, which the vectors have verified). */
import {
  MessageFlags,
  MessageType,
  PayloadType,
  decodeAcknowledge,
  encodeAcknowledge,
  encodeChannelClosed,
  encodeClientMessage,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  sessionTypeAction,
  type ClientMessage,
} from '../../src/protocol/ssm/index.js';
import { idFactory } from './reliable-link-harness.js';

const ids = idFactory(0xa6e47);
const T0 = 1_700_000_000_000;

export function agentFrame(seq: number, payloadType: PayloadType, payload: Buffer | string): Buffer {
  return encodeClientMessage({
    messageType: MessageType.OutputStreamData,
    createdDate: T0 + seq,
    sequenceNumber: seq,
    flags: seq === 0 ? MessageFlags.Syn : MessageFlags.Data,
    messageId: ids(),
    payloadType,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  });
}

export const PORT_PROPERTIES = { localPortNumber: '0', portNumber: '7777', type: 'LocalPortForwarding' };

export function handshakeRequest(
  opts: { agentVersion?: string; sessionType?: string; properties?: Record<string, string>; seq?: number } = {},
): Buffer {
  return agentFrame(
    opts.seq ?? 0,
    PayloadType.HandshakeRequest,
    encodeHandshakeRequest({
      agentVersion: opts.agentVersion ?? '3.3.1142.0',
      requestedClientActions: [
        sessionTypeAction({ sessionType: opts.sessionType ?? 'Port', properties: opts.properties ?? PORT_PROPERTIES }),
      ],
    }),
  );
}

export function handshakeComplete(seq = 1, customerMessage = ''): Buffer {
  return agentFrame(
    seq,
    PayloadType.HandshakeComplete,
    encodeHandshakeComplete({ handshakeTimeToCompleteNs: 23712345, customerMessage }),
  );
}

export function agentAck(seq: number): Buffer {
  return encodeClientMessage({
    messageType: MessageType.Acknowledge,
    createdDate: T0,
    sequenceNumber: 0,
    flags: MessageFlags.Ack,
    messageId: ids(),
    payloadType: 0,
    payload: encodeAcknowledge({
      acknowledgedMessageType: MessageType.InputStreamData,
      acknowledgedMessageId: ids(),
      acknowledgedMessageSequenceNumber: seq,
      isSequentialMessage: true,
    }),
  });
}

export function mgsFrame(messageType: string, payload: Buffer | string = '{}'): Buffer {
  return encodeClientMessage({
    messageType,
    createdDate: T0,
    sequenceNumber: 0,
    flags: MessageFlags.Ack,
    messageId: ids(),
    payloadType: 0,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  });
}

export function channelClosed(output: string): Buffer {
  return mgsFrame(
    MessageType.ChannelClosed,
    encodeChannelClosed({
      messageId: ids(),
      createdDate: '2023-11-14T22:13:21.000Z',
      destinationId: 'i-1',
      sessionId: 's-1',
      messageType: 'channel_closed',
      schemaVersion: 1,
      output,
    }),
  );
}

/** Sequence numbers the client acked, in order. */
export function ackedSeqs(msgs: ClientMessage[]): number[] {
  return msgs
    .filter((m) => m.messageType === MessageType.Acknowledge)
    .map((m) => decodeAcknowledge(m.payload).acknowledgedMessageSequenceNumber);
}

/** The client's stream messages as [seq, payloadType]. */
export function streamOf(msgs: ClientMessage[]): [number, number][] {
  return msgs
    .filter((m) => m.messageType === MessageType.InputStreamData)
    .map((m) => [m.sequenceNumber, m.payloadType]);
}
