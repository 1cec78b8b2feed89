/**
 * session/handshake.ts on its own: what the client answers to a HandshakeRequest (checked as
 * the bytes of the HandshakeResponse payload), the failures it reports, and the version gates
 * `handshakeResult` applies to the agent's version.
 */
import t from 'tap';
import { SessionError } from '../../src/errors.js';
import {
  ActionStatus,
  decodeEncChallenge,
  decodeHandshakeRequest,
  encodeEncChallenge,
  encodeHandshakeComplete,
  encodeHandshakeResponse,
  type HandshakeRequestContent,
  type JsonValue,
  type KmsEncryptionParameters,
} from '../../src/protocol/ssm/index.js';
import {
  answerEncChallenge,
  completeHandshake,
  handshakeResult,
  processHandshakeRequest,
  type KmsHandshakeHandler,
} from '../../src/session/handshake.js';
import { openOutput, sealOutput } from '../../src/session/output-seal.js';

const CTX = { clientVersion: '1.2.677.0', sessionId: 'user-0123456789abcdef0', targetId: 'i-0123456789abcdef0' };

/** A HandshakeRequest payload as an agent sends it (port forwarding to a remote host). */
const PORT_REQUEST = Buffer.from(
  '{"AgentVersion":"3.3.1142.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":' +
    '{"SessionType":"Port","Properties":{"host":"db.internal","portNumber":"5432","type":"LocalPortForwarding"}}}]}',
);

function request(actions: Array<{ actionType: string; actionParameters: JsonValue }>): HandshakeRequestContent {
  return { agentVersion: '3.3.1142.0', requestedClientActions: actions };
}

class FakeKms implements KmsHandshakeHandler {
  calls: Array<{ params: KmsEncryptionParameters; context: { sessionId: string; targetId: string } }> = [];
  fail: Error | undefined;
  async processKmsEncryption(params: KmsEncryptionParameters, context: { sessionId: string; targetId: string }) {
    this.calls.push({ params, context });
    if (this.fail !== undefined) throw this.fail;
    return { KMSCipherTextKey: 'AQID', KMSCipherTextHash: null };
  }
  answerChallenge(c: string): string {
    return c;
  }
  encrypt(b: Buffer): Buffer {
    return b;
  }
  decrypt(b: Buffer): Buffer {
    return b;
  }
}

t.test('a Port request is answered with one successful SessionType action, byte for byte', async (t) => {
  const p = await processHandshakeRequest(decodeHandshakeRequest(PORT_REQUEST), { ...CTX, kms: undefined });
  t.equal(
    encodeHandshakeResponse(p.response).toString(),
    '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,' +
      '"ActionResult":null,"Error":""}],"Errors":null}',
  );
  t.equal(p.failure, undefined);
  t.equal(p.agentVersion, '3.3.1142.0');
  t.equal(p.sessionType, 'Port');
  t.same(p.properties, { host: 'db.internal', portNumber: '5432', type: 'LocalPortForwarding' });
  t.equal(p.encryptionEnabled, false);
});

t.test('a shell session type is answered Failed, and the session fails as unsupported', async (t) => {
  const p = await processHandshakeRequest(
    request([{ actionType: 'SessionType', actionParameters: { SessionType: 'Standard_Stream', Properties: null } }]),
    { ...CTX, kms: undefined },
  );
  t.equal(
    encodeHandshakeResponse(p.response).toString(),
    '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":2,' +
      '"ActionResult":null,"Error":"Failed to process action SessionType: Session type Standard_Stream is not ' +
      'supported by tunnel"}],"Errors":["Session type Standard_Stream is not supported by tunnel"]}',
  );
  t.ok(p.failure instanceof SessionError);
  t.equal(p.failure?.code, 'ERR_SESSION_UNSUPPORTED_SESSION_TYPE');
  t.equal(p.sessionType, 'Standard_Stream');
});

t.test('an unknown session type is named as unknown', async (t) => {
  const p = await processHandshakeRequest(
    request([{ actionType: 'SessionType', actionParameters: { SessionType: 'Telepathy' } }]),
    { ...CTX, kms: undefined },
  );
  t.same(p.response.errors, ['Unknown session type Telepathy']);
  t.equal(p.failure?.code, 'ERR_SESSION_UNSUPPORTED_SESSION_TYPE');
});

t.test('malformed SessionType parameters fail the action and the handshake', async (t) => {
  for (const actionParameters of [
    'Port',
    { SessionType: 7 },
    { SessionType: 'Port', Properties: 'x' },
  ] as JsonValue[]) {
    const p = await processHandshakeRequest(request([{ actionType: 'SessionType', actionParameters }]), {
      ...CTX,
      kms: undefined,
    });
    t.equal(p.response.processedClientActions.length, 1, JSON.stringify(actionParameters));
    t.equal(p.response.processedClientActions[0]?.actionStatus, ActionStatus.Failed);
    t.match(p.response.processedClientActions[0]?.error, /^Failed to process action SessionType: /);
    t.equal(p.response.errors?.length, 1);
    t.equal(p.failure?.code, 'ERR_SESSION_HANDSHAKE_FAILED');
  }
});

t.test('an unknown action is answered Unsupported (status 3) and does not fail the session', async (t) => {
  const p = await processHandshakeRequest(
    request([
      {
        actionType: 'SessionType',
        actionParameters: { SessionType: 'Port', Properties: { type: 'LocalPortForwarding' } },
      },
      { actionType: 'Telemetry', actionParameters: {} },
    ]),
    { ...CTX, kms: undefined },
  );
  t.equal(
    encodeHandshakeResponse(p.response).toString(),
    '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,' +
      '"ActionResult":null,"Error":""},{"ActionType":"Telemetry","ActionStatus":3,"ActionResult":null,' +
      '"Error":"Unsupported action Telemetry"}],"Errors":["Unsupported action Telemetry"]}',
  );
  t.equal(p.failure, undefined);
});

t.test('KMSEncryption without a handler is answered Failed and fails the session', async (t) => {
  const p = await processHandshakeRequest(
    request([{ actionType: 'KMSEncryption', actionParameters: { KMSKeyId: 'alias/ssm' } }]),
    { ...CTX, kms: undefined },
  );
  t.equal(p.response.processedClientActions[0]?.actionStatus, ActionStatus.Failed);
  t.equal(
    p.response.processedClientActions[0]?.error,
    'Failed to process action KMSEncryption: KMS encryption is not available in this client',
  );
  t.equal(p.failure?.code, 'ERR_SESSION_ENCRYPTION');
  t.equal(p.encryptionEnabled, false);
});

t.test('KMSEncryption with a handler: its result is sent, with the session context; encryption is on', async (t) => {
  const kms = new FakeKms();
  const p = await processHandshakeRequest(
    request([
      {
        actionType: 'SessionType',
        actionParameters: { SessionType: 'Port', Properties: { type: 'LocalPortForwarding' } },
      },
      { actionType: 'KMSEncryption', actionParameters: { KMSKeyId: 'alias/ssm', Challenge: 'Y2hhbA==' } },
    ]),
    { ...CTX, kms },
  );
  t.same(kms.calls, [
    {
      params: { kmsKeyId: 'alias/ssm', challenge: 'Y2hhbA==' },
      context: { sessionId: CTX.sessionId, targetId: CTX.targetId },
    },
  ]);
  t.equal(
    encodeHandshakeResponse(p.response).toString(),
    '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,' +
      '"ActionResult":null,"Error":""},{"ActionType":"KMSEncryption","ActionStatus":1,"ActionResult":' +
      '{"KMSCipherTextKey":"AQID","KMSCipherTextHash":null},"Error":""}],"Errors":null}',
  );
  t.equal(p.encryptionEnabled, true);
  t.equal(p.failure, undefined);
});

t.test('a KMS handler that throws fails the action with its message; the cause is kept', async (t) => {
  const kms = new FakeKms();
  kms.fail = new Error('KMS key is disabled');
  const p = await processHandshakeRequest(
    request([{ actionType: 'KMSEncryption', actionParameters: { KMSKeyId: 'alias/off' } }]),
    { ...CTX, kms },
  );
  t.equal(p.response.processedClientActions[0]?.error, 'Failed to process action KMSEncryption: KMS key is disabled');
  t.same(p.response.errors, ['KMS key is disabled']);
  t.equal(p.failure?.code, 'ERR_SESSION_ENCRYPTION');
  t.equal(p.failure?.cause, kms.fail);
  t.equal(p.encryptionEnabled, false);
});

t.test('the first failure is the one reported; every action is still answered in request order', async (t) => {
  const p = await processHandshakeRequest(
    request([
      { actionType: 'KMSEncryption', actionParameters: { KMSKeyId: 'k' } },
      { actionType: 'SessionType', actionParameters: { SessionType: 'InteractiveCommands' } },
    ]),
    { ...CTX, kms: undefined },
  );
  t.same(
    p.response.processedClientActions.map((a) => [a.actionType, a.actionStatus]),
    [
      ['KMSEncryption', ActionStatus.Failed],
      ['SessionType', ActionStatus.Failed],
    ],
  );
  t.equal(p.response.errors?.length, 2);
  t.equal(p.failure?.code, 'ERR_SESSION_ENCRYPTION');
});

t.test('an empty request gets an empty answer', async (t) => {
  const p = await processHandshakeRequest(request([]), { ...CTX, kms: undefined });
  t.equal(
    encodeHandshakeResponse(p.response).toString(),
    '{"ClientVersion":"1.2.677.0","ProcessedClientActions":[],"Errors":null}',
  );
  t.equal(p.failure, undefined);
});

t.test('handshakeResult: the version gates, each on both sides of its boundary', async (t) => {
  const r = (agentVersion: string, type = 'LocalPortForwarding') =>
    handshakeResult({ agentVersion, sessionType: 'Port', properties: { type }, customerMessage: 'hi' });
  // smux: AgentVersion > 3.0.196.0 (strict)
  t.equal(r('3.0.196.0').portMode, 'basic');
  t.equal(r('3.0.196.1').portMode, 'mux');
  t.equal(r('3.0.197.0').portMode, 'mux');
  t.equal(r('2.3.1205.0').portMode, 'basic');
  // keep-alive stays on unless AgentVersion > 3.1.1511.0
  t.equal(r('3.1.1511.0').smuxKeepAlive, true);
  t.equal(r('3.1.1512.0').smuxKeepAlive, false);
  // Flag TerminateSession only for AgentVersion > 2.3.722.0
  t.equal(r('2.3.722.0').canSendTerminateFlag, false);
  t.equal(r('2.3.723.0').canSendTerminateFlag, true);
  // the plugin's comparison: a version it cannot compare (other part count, not numeric) is not greater
  t.equal(r('3.3').portMode, 'basic');
  t.equal(r('3.3.1142.0-beta').portMode, 'basic');
  t.equal(r('3.3.1142.0-beta').canSendTerminateFlag, false);
  t.equal(r('3.3.1142.0-beta').smuxKeepAlive, true);
});

t.test('handshakeResult: without type LocalPortForwarding it is a stream session, whatever the agent', async (t) => {
  const hs = handshakeResult({
    agentVersion: '3.3.1142.0',
    sessionType: 'Port',
    properties: { portNumber: '22' },
    customerMessage: 'welcome',
  });
  t.same(hs, {
    agentVersion: '3.3.1142.0',
    sessionType: 'Port',
    properties: { portNumber: '22' },
    portMode: 'stream',
    smuxKeepAlive: false,
    canSendTerminateFlag: true,
    customerMessage: 'welcome',
  });
});

t.test('completeHandshake: the result from the request and the complete, or why not', async (t) => {
  const agent = { agentVersion: '3.3.1142.0', sessionType: 'Port', properties: { type: 'LocalPortForwarding' } };
  const done = encodeHandshakeComplete({ handshakeTimeToCompleteNs: 1_000_000, customerMessage: 'hello' });
  const r = completeHandshake(done, agent);
  t.equal(r.customerMessage, 'hello');
  t.equal(r.portMode, 'mux');
  t.same(r, handshakeResult({ ...agent, customerMessage: 'hello' }));
  t.throws(() => completeHandshake(done, { ...agent, agentVersion: '' }), {
    code: 'ERR_SESSION_HANDSHAKE_FAILED',
    message: /before any HandshakeRequest/,
  });
  t.throws(() => completeHandshake(Buffer.from('{not json'), agent), {
    code: 'ERR_SESSION_HANDSHAKE_FAILED',
    message: /bad HandshakeComplete/,
  });
});

t.test('answerEncChallenge: the handler answers the challenge; refused unless encryption was agreed', async (t) => {
  const kms = new FakeKms();
  kms.answerChallenge = (c: string): string => Buffer.from(c, 'base64').reverse().toString('base64');
  const challenge = encodeEncChallenge('AQID');
  t.equal(decodeEncChallenge(await answerEncChallenge(kms, true, challenge)), 'AwIB');
  await t.rejects(answerEncChallenge(kms, false, challenge), { code: 'ERR_SESSION_ENCRYPTION' });
  await t.rejects(answerEncChallenge(undefined, true, challenge), { code: 'ERR_SESSION_ENCRYPTION' });
  kms.answerChallenge = (): string => {
    throw new Error('wrong key');
  };
  await t.rejects(answerEncChallenge(kms, true, challenge), {
    code: 'ERR_SESSION_ENCRYPTION',
    message: /encryption challenge failed: wrong key/,
  });
  const own = new SessionError('ERR_SESSION_PLAINTEXT_REFUSED', 'mine');
  kms.answerChallenge = (): string => {
    throw own;
  };
  await t.rejects(answerEncChallenge(kms, true, challenge), own, "a handler's SessionError is passed on");
});

t.test('sealOutput / openOutput: never plaintext once encryption was agreed', async (t) => {
  const kms = new FakeKms();
  kms.encrypt = (b: Buffer): Buffer => Buffer.concat([Buffer.from('S'), b]);
  kms.decrypt = (b: Buffer): Buffer => b.subarray(1);
  const plain = Buffer.from('payload');
  t.same(openOutput(kms, sealOutput(kms, plain)), plain);
  t.throws(() => sealOutput(undefined, plain), { code: 'ERR_SESSION_PLAINTEXT_REFUSED' }, 'no handler');
  t.throws(() => sealOutput(new FakeKms(), plain), { code: 'ERR_SESSION_PLAINTEXT_REFUSED' }, 'bytes handed back');
  const broken = new FakeKms();
  broken.encrypt = (): Buffer => {
    throw new Error('no key');
  };
  broken.decrypt = (): Buffer => {
    throw new Error('bad tag');
  };
  t.throws(() => sealOutput(broken, plain), { code: 'ERR_SESSION_PLAINTEXT_REFUSED' }, 'a handler that throws');
  t.throws(() => openOutput(undefined, plain), { code: 'ERR_SESSION_PLAINTEXT_REFUSED' });
  t.throws(() => openOutput(broken, plain), { code: 'ERR_SESSION_ENCRYPTION', message: /failed to decrypt/ });
});
