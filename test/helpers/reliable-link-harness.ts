/** Shared harness for ReliableLink tests: captures frames, decodes them, builds peer messages. */
import { FakeClock } from './fake-clock.js';
import { ReliableLink, type ReliableLinkOptions } from '../../src/session/reliable-link.js';
import {
  type ClientMessage,
  MessageFlags,
  MessageType,
  PayloadType,
  decodeAcknowledge,
  decodeClientMessage,
  encodeAcknowledge,
  encodeClientMessage,
} from '../../src/protocol/ssm/index.js';

/** Deterministic UUIDs: 00000000-0000-4000-8000-<counter>. */
export function idFactory(prefix = 0): () => string {
  let n = 0;
  return () => {
    n++;
    return `${prefix.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  };
}

export interface Harness {
  clock: FakeClock;
  link: ReliableLink;
  sent: ClientMessage[];
  delivered: ClientMessage[];
  /** Set to false to make deliver() refuse ("not ready"). */
  ready: { value: boolean };
  /** Sent acks' acknowledged sequence numbers, in order. */
  acks(): number[];
  /** Sent stream messages' sequence numbers, in order (including resends). */
  streamSeqs(): number[];
}

export function makeLink(opts: Partial<ReliableLinkOptions> = {}): Harness {
  const clock = new FakeClock();
  const sent: ClientMessage[] = [];
  const delivered: ClientMessage[] = [];
  const ready = { value: true };
  const link = new ReliableLink({
    role: 'client',
    clock,
    sendFrame: (f) => sent.push(decodeClientMessage(f)),
    deliver: (m) => {
      if (!ready.value) return false;
      delivered.push(m);
      return true;
    },
    newMessageId: idFactory(1),
    ...opts,
  });
  return {
    clock,
    link,
    sent,
    delivered,
    ready,
    acks: () =>
      sent
        .filter((m) => m.messageType === MessageType.Acknowledge)
        .map((m) => decodeAcknowledge(m.payload).acknowledgedMessageSequenceNumber),
    streamSeqs: () => sent.filter((m) => m.messageType !== MessageType.Acknowledge).map((m) => m.sequenceNumber),
  };
}

const peerIds = idFactory(2);

/** A message from the peer (agent → client by default). */
export function peerData(
  seq: number,
  payload: Buffer | string = `data-${seq}`,
  payloadType = PayloadType.Output,
  messageType: string = MessageType.OutputStreamData,
): ClientMessage {
  return decodeClientMessage(
    encodeClientMessage({
      messageType,
      createdDate: 1_700_000_000_000,
      sequenceNumber: seq,
      flags: seq === 0 ? MessageFlags.Syn : MessageFlags.Data,
      messageId: peerIds(),
      payloadType,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    }),
  );
}

/** An acknowledge from the peer for our sequence number `seq`. */
export function peerAck(seq: number, ackedType: string = MessageType.InputStreamData): ClientMessage {
  return decodeClientMessage(
    encodeClientMessage({
      messageType: MessageType.Acknowledge,
      createdDate: 1_700_000_000_000,
      sequenceNumber: 0,
      flags: MessageFlags.Ack,
      messageId: peerIds(),
      payloadType: 0,
      payload: encodeAcknowledge({
        acknowledgedMessageType: ackedType,
        acknowledgedMessageId: peerIds(),
        acknowledgedMessageSequenceNumber: seq,
        isSequentialMessage: true,
      }),
    }),
  );
}

/** A bare MGS message (pause/start publication, channel_closed). */
export function mgsMessage(messageType: string, payload = '{}'): ClientMessage {
  return decodeClientMessage(
    encodeClientMessage({
      messageType,
      createdDate: 1_700_000_000_000,
      sequenceNumber: 0,
      flags: MessageFlags.Ack,
      messageId: peerIds(),
      payloadType: 0,
      payload: Buffer.from(payload),
    }),
  );
}
