import t from 'tap';
import {
  FlagCode,
  PAYLOAD_OFFSET,
  acknowledgedSequenceNumber,
  decodeAcknowledge,
  decodeAgentSessionState,
  decodeChannelClosed,
  decodeClientMessage,
  decodeFlag,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  encodeAcknowledge,
  encodeAgentSessionState,
  encodeChannelClosed,
  encodeEncChallenge,
  decodeEncChallenge,
  encodeFlag,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  kmsEncryptionAction,
  readKmsEncryptionParameters,
  readSessionTypeParameters,
  sessionTypeAction,
} from '../../../src/protocol/ssm/index.js';
import { inStr, loadVectors, vectorByName } from './load-vectors.js';

const file = loadVectors();

function payloadOf(name: string): Buffer {
  const v = vectorByName(file, name);
  return Buffer.from(v.hex, 'hex').subarray(PAYLOAD_OFFSET);
}

t.test('acknowledge payloads: decode and re-encode byte for byte', async (t) => {
  for (const name of [
    'client_ack_of_handshake_request',
    'agent_ack_of_client_handshake_response',
    'client_ack_of_handshake_complete',
    'agent_ack_of_client_output_seq1',
    'client_ack_of_output_seq2',
    'messagetype_nul_padding_accepted',
  ]) {
    const p = payloadOf(name);
    const a = decodeAcknowledge(p);
    t.equal(encodeAcknowledge(a).toString('utf8'), p.toString('utf8'), name);
  }
  const v = vectorByName(file, 'payload_acknowledge_json');
  const a = decodeAcknowledge(Buffer.from(v.hex, 'hex'));
  t.same(a, {
    acknowledgedMessageType: 'output_stream_data',
    acknowledgedMessageId: '6ba7b814-9dad-41d1-80b4-00c04fd430c8',
    acknowledgedMessageSequenceNumber: 0,
    isSequentialMessage: true,
  });
  t.equal(encodeAcknowledge(a).toString('hex'), v.hex);
});

t.test('the transcript acks quote the acked message id and sequence number', async (t) => {
  const pairs: [string, string][] = [
    ['client_ack_of_handshake_request', 'agent_handshake_request_port'],
    ['agent_ack_of_client_handshake_response', 'client_handshake_response_port'],
    ['client_ack_of_handshake_complete', 'agent_handshake_complete'],
    ['agent_ack_of_client_output_seq1', 'client_input_stream_data_smux_syn'],
    ['client_ack_of_output_seq2', 'agent_output_stream_data_smux_psh'],
  ];
  for (const [ackName, ackedName] of pairs) {
    const ack = decodeAcknowledge(decodeClientMessage(Buffer.from(vectorByName(file, ackName).hex, 'hex')).payload);
    const acked = decodeClientMessage(Buffer.from(vectorByName(file, ackedName).hex, 'hex'));
    t.equal(ack.acknowledgedMessageId, acked.messageId, `${ackName} id`);
    t.equal(ack.acknowledgedMessageSequenceNumber, acked.sequenceNumber, `${ackName} seq`);
    t.equal(ack.acknowledgedMessageType, acked.messageType, `${ackName} type`);
  }
});

t.test('acknowledgedSequenceNumber agrees with decodeAcknowledge on every input', async (t) => {
  const canonical = (type: string, id: string, seq: string, tail = 'true'): string =>
    `{"AcknowledgedMessageType":"${type}","AcknowledgedMessageId":"${id}","AcknowledgedMessageSequenceNumber":${seq},"IsSequentialMessage":${tail}}`;
  const id = '6ba7b814-9dad-41d1-80b4-00c04fd430c8';
  const inputs: string[] = [
    canonical('output_stream_data', id, '0'),
    canonical('input_stream_data', id, '7', 'false'),
    canonical('output_stream_data', id, '123456789012345'), // 15 digits: the fast path
    canonical('output_stream_data', id, '9007199254740991'), // 16 digits: the full decoder
    canonical('output_stream_data', id, '9007199254740992'), // unsafe: both refuse
    canonical('output_stream_data', id, '0012'), // leading zeros: not JSON
    canonical('output_stream_data', id, '-1'),
    canonical('output_stream_data', id, '1.5'),
    canonical('output_stream_data', id, '1e3'),
    canonical('out\\put', id, '3'), // an escape
    canonical('outp\u00fct', id, '3'),
    canonical('outpüt', id, '3'), // non-ASCII
    canonical('', '', '4'),
    canonical('output_stream_data', id, '5') + ' ', // trailing space is still JSON
    canonical('output_stream_data', id, '5') + '}',
    canonical('output_stream_data', id, '5').slice(0, -1),
    canonical('output_stream_data', id, '6', 'null'),
    canonical('output_stream_data', id, '6', 'tru'),
    `{"AcknowledgedMessageSequenceNumber":8,"AcknowledgedMessageType":"output_stream_data"}`,
    `{ "AcknowledgedMessageType": "output_stream_data", "AcknowledgedMessageSequenceNumber": 9 }`,
    `{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"${id}","AcknowledgedMessageSequenceNumber":10,"IsSequentialMessage":true,"AcknowledgedMessageSequenceNumber":11}`,
    '',
    '[]',
    'not json',
  ];
  const outcome = (f: () => number): string => {
    try {
      return `ok ${f()}`;
    } catch (e) {
      return `throws ${(e as { code?: string }).code ?? String(e)}`;
    }
  };
  let fastOk = 0;
  for (const text of inputs) {
    for (const p of [Buffer.from(text, 'utf8'), Buffer.from(text, 'latin1')]) {
      const want = outcome(() => decodeAcknowledge(p).acknowledgedMessageSequenceNumber);
      t.equal(
        outcome(() => acknowledgedSequenceNumber(p)),
        want,
        JSON.stringify(text),
      );
      if (want.startsWith('ok')) fastOk++;
    }
  }
  t.ok(fastOk >= 10, 'some inputs are accepted');
  // Every byte of a canonical ack changed in turn: still the same verdict as the full decoder.
  const base = Buffer.from(canonical('output_stream_data', id, '42'));
  for (let i = 0; i < base.length; i++) {
    for (const b of [0x00, 0x22, 0x30, 0x39, 0x5c, 0x7d, 0xc3]) {
      const p = Buffer.from(base);
      p[i] = b;
      const want = outcome(() => decodeAcknowledge(p).acknowledgedMessageSequenceNumber);
      const got = outcome(() => acknowledgedSequenceNumber(p));
      if (got !== want) t.fail(`byte ${i} = ${b}: ${got}, decodeAcknowledge ${want}`);
    }
  }
  t.equal(acknowledgedSequenceNumber(base), 42);
});

t.test('HandshakeRequest: decode, typed parameters, re-encode', async (t) => {
  const p = payloadOf('agent_handshake_request_port');
  const h = decodeHandshakeRequest(p);
  t.equal(h.agentVersion, '3.3.1142.0');
  t.equal(h.requestedClientActions.length, 1);
  const a = h.requestedClientActions[0];
  if (a === undefined) throw new Error('no action');
  t.same(readSessionTypeParameters(a), {
    sessionType: 'Port',
    properties: { host: 'db.internal', localPortNumber: '15432', portNumber: '5432', type: 'LocalPortForwarding' },
  });
  t.equal(encodeHandshakeRequest(h).toString('utf8'), p.toString('utf8'), 're-encodes exactly');
  // Built from typed parameters with unsorted keys: Properties come out sorted, like Go maps.
  const built = encodeHandshakeRequest({
    agentVersion: '3.3.1142.0',
    requestedClientActions: [
      sessionTypeAction({
        sessionType: 'Port',
        properties: { type: 'LocalPortForwarding', portNumber: '5432', localPortNumber: '15432', host: 'db.internal' },
      }),
    ],
  });
  t.equal(built.toString('utf8'), p.toString('utf8'), 'built from parameters equals the vector');
  const kms = kmsEncryptionAction({ kmsKeyId: 'arn:k', challenge: 'Y2g=' });
  t.same(readKmsEncryptionParameters(kms), { kmsKeyId: 'arn:k', challenge: 'Y2g=' });
  t.same(readKmsEncryptionParameters(kmsEncryptionAction({ kmsKeyId: 'arn:k' })), { kmsKeyId: 'arn:k' });
  for (const name of [
    'client_handshake_response_unknown_action',
    'client_handshake_response_unknown_session_type',
    'client_handshake_response_kms_refused_legacy_cli',
  ]) {
    const req = inStr(vectorByName(file, name), 'in_reply_to_HandshakeRequest_payload');
    t.equal(
      encodeHandshakeRequest(decodeHandshakeRequest(Buffer.from(req))).toString('utf8'),
      req,
      `${name} request re-encodes`,
    );
  }
});

t.test('HandshakeResponse vectors: decode and re-encode byte for byte', async (t) => {
  for (const name of [
    'client_handshake_response_port',
    'client_handshake_response_unknown_action',
    'client_handshake_response_unknown_session_type',
    'client_handshake_response_kms_refused_legacy_cli',
  ]) {
    const p = payloadOf(name);
    const h = decodeHandshakeResponse(p);
    t.equal(h.clientVersion, '1.2.677.0');
    t.equal(encodeHandshakeResponse(h).toString('utf8'), p.toString('utf8'), name);
  }
  t.same(decodeHandshakeResponse(payloadOf('client_handshake_response_port')).errors, null, 'Errors null');
  t.equal(
    encodeHandshakeResponse({ clientVersion: 'v', processedClientActions: [], errors: [] }).toString(),
    '{"ClientVersion":"v","ProcessedClientActions":[],"Errors":null}',
  );
});

t.test('HandshakeComplete: integer nanoseconds', async (t) => {
  const p = payloadOf('agent_handshake_complete');
  const h = decodeHandshakeComplete(p);
  t.same(h, { handshakeTimeToCompleteNs: 23712345, customerMessage: '' });
  t.equal(encodeHandshakeComplete(h).toString(), p.toString());
  t.throws(() => encodeHandshakeComplete({ handshakeTimeToCompleteNs: 1.5, customerMessage: '' }), {
    code: 'ERR_SSM_BAD_FIELD',
  });
  t.throws(() => decodeHandshakeComplete(Buffer.from('{"HandshakeTimeToComplete":"1"}')), { code: 'ERR_SSM_BAD_JSON' });
});

t.test('channel_closed: Output is surfaced; re-encodes exactly', async (t) => {
  const a = decodeChannelClosed(payloadOf('mgs_channel_closed_no_output'));
  t.equal(a.output, '');
  const b = decodeChannelClosed(payloadOf('mgs_channel_closed_with_output'));
  t.equal(b.output, 'Your session timed out due to inactivity and has been terminated.');
  t.equal(encodeChannelClosed(b).toString(), payloadOf('mgs_channel_closed_with_output').toString());
  t.equal(encodeChannelClosed(a).toString(), payloadOf('mgs_channel_closed_no_output').toString());
  t.equal(decodeChannelClosed(Buffer.from('{"Output":"bye"}')).output, 'bye', 'only Output is required');
});

t.test('agent_session_state', async (t) => {
  const p = payloadOf('agent_session_state_connected');
  const s = decodeAgentSessionState(p);
  t.same(s, { schemaVersion: 1, sessionState: 'Connected', sessionId: 'vectors-0a1b2c3d4e5f67890' });
  t.equal(encodeAgentSessionState(s).toString(), p.toString());
});

t.test('OpenDataChannel text frames, client and agent forms', async (t) => {
  for (const name of ['client_open_data_channel_text_frame', 'agent_open_data_channel_text_frame']) {
    const v = vectorByName(file, name);
    const text = Buffer.from(v.hex, 'hex').toString('utf8');
    t.equal(text, inStr(v, 'text'));
    const o = decodeOpenDataChannel(text);
    t.equal(encodeOpenDataChannel(o), text, `${name} re-encodes`);
  }
  const c = decodeOpenDataChannel(Buffer.from(vectorByName(file, 'client_open_data_channel_text_frame').hex, 'hex'));
  t.same(c, {
    messageSchemaVersion: '1.0',
    requestId: 'd3c2b1a0-9f8e-4d7c-8b6a-5f4e3d2c1b0a',
    tokenValue: 'CLIENT-STREAM-TOKEN-EXAMPLE',
    clientId: '5b7e4d1c-2a3f-4e6b-9c8d-0f1e2d3c4b5a',
    clientVersion: '1.2.677.0',
  });
  t.throws(() => decodeOpenDataChannel('{"MessageSchemaVersion":"1.0"}'), { code: 'ERR_SSM_BAD_JSON' });
});

t.test('Flag payloads: 4-byte big-endian', async (t) => {
  const names: [string, FlagCode][] = [
    ['payload_flag_DisconnectToPort', FlagCode.DisconnectToPort],
    ['payload_flag_TerminateSession', FlagCode.TerminateSession],
    ['payload_flag_ConnectToPortError', FlagCode.ConnectToPortError],
  ];
  for (const [name, code] of names) {
    const v = vectorByName(file, name);
    t.equal(encodeFlag(code).toString('hex'), v.hex, name);
    t.equal(decodeFlag(Buffer.from(v.hex, 'hex')), code);
  }
  t.equal(decodeFlag(payloadOf('agent_flag_connect_to_port_error')), FlagCode.ConnectToPortError);
  t.equal(decodeFlag(payloadOf('client_flag_terminate_session')), FlagCode.TerminateSession);
  t.equal(decodeFlag(payloadOf('client_flag_disconnect_to_port')), FlagCode.DisconnectToPort);
  t.throws(() => decodeFlag(Buffer.from('000002', 'hex')), { code: 'ERR_SSM_BAD_FLAG' });
  t.throws(() => decodeFlag(Buffer.from('00000004', 'hex')), { code: 'ERR_SSM_BAD_FLAG' });
  t.throws(() => encodeFlag(9 as FlagCode), { code: 'ERR_SSM_BAD_FLAG' });
});

t.test('MessageId byte order vector', async (t) => {
  const v = vectorByName(file, 'messageid_byte_order');
  const term = decodeClientMessage(Buffer.from(vectorByName(file, 'client_flag_terminate_session').hex, 'hex'));
  t.equal(term.messageId, inStr(v, 'uuid'));
  t.equal(
    Buffer.from(vectorByName(file, 'client_flag_terminate_session').hex, 'hex').subarray(64, 80).toString('hex'),
    v.hex,
  );
});

t.test('EncChallenge', async (t) => {
  t.equal(encodeEncChallenge('QUJD').toString(), '{"Challenge":"QUJD"}');
  t.equal(decodeEncChallenge(Buffer.from('{"Challenge":"QUJD"}')), 'QUJD');
});

t.test('malformed JSON payloads give ERR_SSM_BAD_JSON', async (t) => {
  const bad = [
    '',
    'nul',
    '[]',
    '42',
    '{"AcknowledgedMessageSequenceNumber":"1"}',
    '{"AcknowledgedMessageSequenceNumber":1.5}',
  ];
  for (const b of bad)
    t.throws(() => decodeAcknowledge(Buffer.from(b)), { code: 'ERR_SSM_BAD_JSON' }, JSON.stringify(b));
  t.throws(() => decodeHandshakeRequest(Buffer.from('{"AgentVersion":1}')), { code: 'ERR_SSM_BAD_JSON' });
  t.throws(() => decodeHandshakeRequest(Buffer.from('{"AgentVersion":"1","RequestedClientActions":{}}')), {
    code: 'ERR_SSM_BAD_JSON',
  });
  t.throws(() => decodeHandshakeRequest(Buffer.from('{"AgentVersion":"1","RequestedClientActions":[1]}')), {
    code: 'ERR_SSM_BAD_JSON',
  });
  t.throws(() => readSessionTypeParameters({ actionType: 'SessionType', actionParameters: 3 }), {
    code: 'ERR_SSM_BAD_JSON',
  });
  t.throws(
    () =>
      readSessionTypeParameters({
        actionType: 'SessionType',
        actionParameters: { SessionType: 'Port', Properties: 'x' },
      }),
    { code: 'ERR_SSM_BAD_JSON' },
  );
  t.throws(
    () => decodeHandshakeResponse(Buffer.from('{"ClientVersion":"1","ProcessedClientActions":[{"ActionType":"x"}]}')),
    { code: 'ERR_SSM_BAD_JSON' },
  );
  t.throws(() => decodeChannelClosed(Buffer.from('{"Output":5}')), { code: 'ERR_SSM_BAD_JSON' });
});
