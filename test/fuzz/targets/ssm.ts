/**
 * Fuzz targets for the Session Manager codecs (src/protocol/ssm): the ClientMessage frame
 * codec, the payload codecs reached through a decoded frame's PayloadType, the OpenDataChannel
 * text frame, and the incremental stream decoder fed random splits.
 */
import {
  ClientMessageStreamDecoder,
  type ClientMessage,
  MessageFlags,
  MessageType,
  PayloadType,
  decodeAcknowledge,
  decodeAgentSessionState,
  decodeChannelClosed,
  decodeClientMessage,
  decodeEncChallenge,
  decodeFlag,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  encodeAcknowledge,
  encodeChannelClosed,
  encodeClientMessage,
  encodeFlag,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  verifyPayloadDigest,
  FlagCode,
} from '../../../src/protocol/ssm/index.js';
import { type FuzzTarget, type Prng, check, mutate, randomSplit } from '../../helpers/fuzz.js';

const TYPES = Object.values(MessageType);

/** A random but valid payload for `payloadType` (JSON where the type is JSON). */
export function randomPayload(rng: Prng, messageType: string, payloadType: number): Buffer {
  if (messageType === MessageType.Acknowledge) {
    return encodeAcknowledge({
      acknowledgedMessageType: rng.pick([MessageType.InputStreamData, MessageType.OutputStreamData]),
      acknowledgedMessageId: rng.uuid(),
      acknowledgedMessageSequenceNumber: rng.int(1 << 20),
      isSequentialMessage: true,
    });
  }
  if (messageType === MessageType.ChannelClosed) {
    return encodeChannelClosed({
      messageId: rng.uuid(),
      createdDate: new Date(1_700_000_000_000 + rng.int(1e9)).toISOString(),
      destinationId: `i-${rng.bytes(8).toString('hex')}`,
      sessionId: `user-${rng.bytes(8).toString('hex')}`,
      messageType: MessageType.ChannelClosed,
      schemaVersion: 1,
      output: rng.chance(0.5) ? '' : rng.bytes(rng.int(40)).toString('base64'),
    });
  }
  switch (payloadType) {
    case PayloadType.HandshakeRequest:
      return encodeHandshakeRequest({
        agentVersion: `3.${rng.int(4)}.${rng.int(2000)}.0`,
        requestedClientActions: [
          {
            actionType: 'SessionType',
            actionParameters: { SessionType: 'Port', Properties: { portNumber: String(rng.int(65536)) } },
          },
        ],
      });
    case PayloadType.HandshakeResponse:
      return encodeHandshakeResponse({
        clientVersion: '1.2.677.0',
        processedClientActions: [{ actionType: 'SessionType', actionStatus: 1, actionResult: null, error: '' }],
        errors: null,
      });
    case PayloadType.HandshakeComplete:
      return encodeHandshakeComplete({
        handshakeTimeToCompleteNs: rng.int(1e9),
        customerMessage: rng.chance(0.5) ? '' : 'hello',
      });
    case PayloadType.Flag:
      return encodeFlag(rng.pick([FlagCode.DisconnectToPort, FlagCode.TerminateSession, FlagCode.ConnectToPortError]));
    default:
      return rng.bytes(1 + rng.int(rng.chance(0.1) ? 4096 : 1024));
  }
}

/** A random valid message, as the encoder's input and its encoded frame. */
export function randomMessage(rng: Prng): { init: Parameters<typeof encodeClientMessage>[0]; frame: Buffer } {
  const messageType = rng.pick(TYPES);
  const payloadType = messageType === MessageType.Acknowledge ? 0 : rng.range(1, PayloadType.ExitCode);
  const init = {
    messageType,
    createdDate: 1 + rng.int(2 ** 31) * 1000 + rng.int(1000),
    sequenceNumber: rng.chance(0.1) ? Number.MAX_SAFE_INTEGER - rng.int(10) : rng.int(1 << 24),
    flags: rng.pick([MessageFlags.Data, MessageFlags.Syn, MessageFlags.Ack]),
    messageId: rng.uuid(),
    payloadType,
    payload: randomPayload(rng, messageType, payloadType),
  };
  return { init, frame: encodeClientMessage(init) };
}

/** Runs the payload decoder a receiver would run for this message (throws typed errors only). */
export function decodePayloadOf(m: ClientMessage): void {
  switch (m.messageType) {
    case MessageType.Acknowledge:
      decodeAcknowledge(m.payload);
      return;
    case MessageType.ChannelClosed:
      decodeChannelClosed(m.payload);
      return;
    case MessageType.AgentSessionState:
      decodeAgentSessionState(m.payload);
      return;
    default:
      break;
  }
  switch (m.payloadType) {
    case PayloadType.HandshakeRequest:
      decodeHandshakeRequest(m.payload);
      return;
    case PayloadType.HandshakeResponse:
      decodeHandshakeResponse(m.payload);
      return;
    case PayloadType.HandshakeComplete:
      decodeHandshakeComplete(m.payload);
      return;
    case PayloadType.EncChallengeRequest:
    case PayloadType.EncChallengeResponse:
      decodeEncChallenge(m.payload);
      return;
    case PayloadType.Flag:
      decodeFlag(m.payload);
      return;
    default:
      return;
  }
}

/** JSON fragments that reach the payload validators' deeper branches when spliced together. */
const JSON_BITS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"AgentVersion"',
  '"RequestedClientActions"',
  '"ActionType"',
  '"ActionParameters"',
  '"AcknowledgedMessageSequenceNumber"',
  '"Output"',
  '"ClientVersion"',
  '"ProcessedClientActions"',
  '"ActionStatus"',
  '"TokenValue"',
  '"RequestId"',
  '"MessageSchemaVersion"',
  '"x"',
  '1',
  '-1',
  '1e400',
  '9007199254740993',
  '0.5',
  'null',
  'true',
  '"\\u0000"',
  '""',
];

export const ssmFrameTarget: FuzzTarget = {
  name: 'ssm-frame',
  weight: 4,
  allowed: ['ERR_SSM_'],
  run(rng) {
    const { init, frame } = randomMessage(rng);
    if (rng.chance(0.15)) {
      // Round trip: a valid frame decodes to exactly what was encoded.
      const m = decodeClientMessage(frame);
      check(
        m.messageType === init.messageType &&
          m.sequenceNumber === init.sequenceNumber &&
          m.messageId === init.messageId,
        'round trip changed a header field',
      );
      check(m.payload.equals(init.payload) && verifyPayloadDigest(m), 'round trip changed the payload');
      decodePayloadOf(m);
      return 'round-trip';
    }
    const input = mutate(rng, frame, rng.chance(0.3) ? randomMessage(rng).frame : undefined);
    const before = Buffer.from(input);
    let m: ClientMessage;
    try {
      m = decodeClientMessage(input, { verifyDigest: rng.chance(0.8) });
    } finally {
      check(input.equals(before), 'the decoder modified its input');
    }
    decodePayloadOf(m);
    return 'accepted';
  },
};

export const ssmPayloadTarget: FuzzTarget = {
  name: 'ssm-payload-json',
  weight: 2,
  allowed: ['ERR_SSM_'],
  run(rng) {
    const text = rng.chance(0.5)
      ? Array.from({ length: rng.int(16) }, () => rng.pick(JSON_BITS)).join('')
      : mutate(
          rng,
          Buffer.from(
            encodeOpenDataChannel({
              messageSchemaVersion: '1.0',
              requestId: rng.uuid(),
              tokenValue: rng.bytes(24).toString('base64'),
              clientId: rng.uuid(),
              clientVersion: '1.2.677.0',
            }),
          ),
        ).toString('latin1');
    const buf = Buffer.from(text, 'latin1');
    switch (rng.int(8)) {
      case 0:
        decodeAcknowledge(buf);
        break;
      case 1:
        decodeHandshakeRequest(buf);
        break;
      case 2:
        decodeHandshakeResponse(buf);
        break;
      case 3:
        decodeHandshakeComplete(buf);
        break;
      case 4:
        decodeChannelClosed(buf);
        break;
      case 5:
        decodeFlag(buf.subarray(0, rng.int(6)));
        break;
      case 6:
        decodeEncChallenge(buf);
        break;
      default:
        decodeOpenDataChannel(rng.chance(0.5) ? text : buf);
        break;
    }
    return 'accepted';
  },
};

export const ssmStreamTarget: FuzzTarget = {
  name: 'ssm-stream-decoder',
  allowed: ['ERR_SSM_'],
  run(rng) {
    const maxPayloadBytes = 8192;
    const dec = new ClientMessageStreamDecoder({ maxPayloadBytes });
    const frames: Buffer[] = [];
    for (let i = 0, n = 1 + rng.int(6); i < n; i++) frames.push(randomMessage(rng).frame);
    const corrupt = rng.chance(0.5);
    let stream: Buffer = Buffer.concat(frames);
    if (corrupt) stream = mutate(rng, stream);
    let got = 0;
    for (const chunk of randomSplit(rng, stream, 1 + rng.int(600))) {
      for (const m of dec.push(chunk)) {
        got++;
        if (!corrupt)
          check(
            m.messageId === decodeClientMessage(frames[got - 1] as Buffer).messageId,
            'stream decoder reordered or lost a message',
          );
      }
      // Memory bound: at most one header plus one maximal payload is ever held.
      check(
        dec.bufferedBytes <= 120 + maxPayloadBytes + chunk.length,
        `stream decoder holds ${dec.bufferedBytes} bytes`,
      );
    }
    if (!corrupt)
      check(
        got === frames.length && dec.bufferedBytes === 0,
        `stream decoder gave ${got} of ${frames.length} messages`,
      );
    return corrupt ? 'corrupt-accepted' : 'clean';
  },
};
