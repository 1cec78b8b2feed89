/**
 * The client's KMS path end to end over a fake transport: DataChannel + KmsSessionHandler against
 * the emulator's AgentKmsSession (two implementations of the same wire steps checking each other).
 */
import t, { type Test } from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeConnector, flush, type FakeTransport } from '../helpers/fake-transport.js';
import { DataChannel, type DataChannelOptions, type KmsHandshakeHandler } from '../../src/session/data-channel.js';
import {
  MessageType,
  PayloadType,
  decodeHandshakeResponse,
  encodeHandshakeRequest,
  sessionTypeAction,
  type ClientMessage,
} from '../../src/protocol/ssm/index.js';
import { AwsError, SessionError } from '../../src/errors.js';
import { KmsSessionHandler, kmsHandlerFactory } from '../../src/tunnel/kms-handler.js';
import type { GenerateDataKeyInput, KmsApi } from '../../src/aws/kms.js';
import { AgentKmsSession, KMS_CUSTOMER_MESSAGE } from '../../src/emulator/agent/kms-agent.js';
import { agentAck, agentFrame, ackedSeqs, PORT_PROPERTIES } from '../helpers/agent-script.js';
import { idFactory } from '../helpers/reliable-link-harness.js';

const SESSION = 's-kms-0123456789';
const TARGET = 'i-0123456789abcdef0';
const KEY_ID = 'arn:aws:kms:us-east-1:123456789012:key/k-1';
const BLOB = Buffer.from('opaque-ciphertext-blob-from-kms');
const DATA_KEY = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));

/** A KmsApi that hands out `key` for BLOB and records its inputs. */
function fakeKms(key: Buffer = DATA_KEY): KmsApi & { calls: GenerateDataKeyInput[] } {
  const calls: GenerateDataKeyInput[] = [];
  return {
    calls,
    async generateDataKey(input) {
      calls.push(input);
      // A fresh copy each time: the handler wipes what it is given.
      return { ciphertextBlob: Buffer.from(BLOB), plaintext: Buffer.from(key), keyArn: KEY_ID };
    },
  };
}

/** The emulated agent's KMS state, unwrapping BLOB to DATA_KEY under the session's context. */
function agentKms(): { kms: AgentKmsSession; contexts: Record<string, string>[] } {
  const contexts: Record<string, string>[] = [];
  const kms = new AgentKmsSession(
    {
      kmsKeyId: KEY_ID,
      unwrapDataKey: (blob, context) => {
        contexts.push(context);
        if (!blob.equals(BLOB)) throw new Error('InvalidCiphertextException');
        return Buffer.from(DATA_KEY);
      },
    },
    { sessionId: SESSION, instanceId: TARGET },
  );
  return { kms, contexts };
}

interface Rig {
  ch: DataChannel;
  conn: FakeConnector;
  errors: SessionError[];
}

function rig(kms: KmsHandshakeHandler | undefined, over: Partial<DataChannelOptions> = {}): Rig {
  const conn = new FakeConnector();
  const ch = new DataChannel({
    streamUrl: 'wss://ssmmessages.example/v1/data-channel/s?role=publish_subscribe',
    tokenValue: 'TOKEN',
    sessionId: SESSION,
    targetId: TARGET,
    clock: new FakeClock(),
    connect: conn.connect,
    newId: idFactory(0xc1),
    resume: async () => undefined,
    ...(kms === undefined ? {} : { kms }),
    ...over,
  });
  const errors: SessionError[] = [];
  ch.on('error', (e: SessionError) => errors.push(e));
  return { ch, conn, errors };
}

const kmsRequest = (agent: AgentKmsSession): Buffer =>
  agentFrame(
    0,
    PayloadType.HandshakeRequest,
    encodeHandshakeRequest({
      agentVersion: '3.3.1142.0',
      requestedClientActions: [
        sessionTypeAction({ sessionType: 'Port', properties: PORT_PROPERTIES }),
        agent.requestedAction(),
      ],
    }),
  );

const ofType = (tr: FakeTransport, pt: PayloadType): ClientMessage[] =>
  tr.messages().filter((m) => m.messageType === MessageType.InputStreamData && m.payloadType === pt);

/** Runs the whole KMS handshake; returns the transport once the channel is established. */
async function establish(t: Test, r: Rig, agent: AgentKmsSession): Promise<FakeTransport> {
  const open = r.ch.open();
  await flush();
  const tr = r.conn.last;
  tr.receive(kmsRequest(agent));
  await flush();
  const resp = ofType(tr, PayloadType.HandshakeResponse)[0];
  t.ok(resp, 'HandshakeResponse sent');
  const step = agent.handleHandshakeResponse(
    decodeHandshakeResponse(resp?.payload ?? Buffer.from('{}')).processedClientActions,
  );
  if (!step.ok) throw new Error(step.output);
  tr.receive(agentAck(0));
  tr.receive(agentFrame(1, PayloadType.EncChallengeRequest, step.value));
  await flush();
  const answer = ofType(tr, PayloadType.EncChallengeResponse)[0];
  t.equal(answer?.sequenceNumber, 1, 'EncChallengeResponse at client seq 1');
  t.same(
    agent.handleChallengeResponse(answer?.payload ?? Buffer.alloc(0)),
    { ok: true, value: undefined },
    'the agent accepts the answer',
  );
  tr.receive(agentAck(1));
  tr.receive(
    agentFrame(
      2,
      PayloadType.HandshakeComplete,
      JSON.stringify({ HandshakeTimeToComplete: 1000, CustomerMessage: KMS_CUSTOMER_MESSAGE }),
    ),
  );
  t.equal((await open).customerMessage, KMS_CUSTOMER_MESSAGE);
  return tr;
}

t.test('GenerateDataKey with 64 bytes and the session/target context; ciphertext key in the response', async (t) => {
  const api = fakeKms();
  const handler = new KmsSessionHandler({ kms: async () => api });
  const r = rig(handler);
  const { kms: agent, contexts } = agentKms();
  await establish(t, r, agent);
  t.same(api.calls, [
    {
      keyId: KEY_ID,
      numberOfBytes: 64,
      encryptionContext: { 'aws:ssm:SessionId': SESSION, 'aws:ssm:TargetId': TARGET },
    },
  ]);
  const resp = decodeHandshakeResponse(
    ofType(r.conn.last, PayloadType.HandshakeResponse)[0]?.payload ?? Buffer.alloc(0),
  );
  t.same(resp.processedClientActions[1], {
    actionType: 'KMSEncryption',
    actionStatus: 1,
    actionResult: { KMSCipherTextKey: BLOB.toString('base64'), KMSCipherTextHash: null },
    error: '',
  });
  t.equal(resp.errors, null);
  t.same(
    contexts,
    [{ 'aws:ssm:SessionId': SESSION, 'aws:ssm:TargetId': TARGET }],
    'the agent unwraps under the same context',
  );
  t.ok(handler.isKeyed);
  r.ch.close();
});

t.test('Output is sealed per message both ways and opened intact', async (t) => {
  const r = rig(new KmsSessionHandler({ kms: async () => fakeKms() }));
  const { kms: agent } = agentKms();
  const tr = await establish(t, r, agent);
  const got: Buffer[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b));
  const down = [Buffer.from('hello from the agent'), Buffer.alloc(1024, 0x61)];
  tr.receive(agentFrame(3, PayloadType.Output, agent.seal(down[0] as Buffer)));
  tr.receive(agentFrame(4, PayloadType.Output, agent.seal(down[1] as Buffer)));
  t.same(Buffer.concat(got), Buffer.concat(down), 'agent → client bytes intact');
  t.same(ackedSeqs(tr.messages()).slice(-2), [3, 4], 'and acked');

  const up = Buffer.from(Array.from({ length: 2500 }, (_, i) => i & 0xff));
  t.equal(r.ch.sendData(up), true);
  const outs = ofType(tr, PayloadType.Output);
  t.same(
    outs.map((m) => m.payload.length),
    [1024 + 28, 1024 + 28, 452 + 28],
    'one sealed payload per ≤ 1024-byte chunk',
  );
  t.same(Buffer.concat(outs.map((m) => agent.open(m.payload))), up, 'client → agent bytes intact');
  for (const m of outs) t.notOk(m.payload.includes(up.subarray(100, 132)), 'no plaintext run on the wire');
  r.ch.close();
});

t.test('a tampered Output is a typed error and nothing is passed on', async (t) => {
  const r = rig(new KmsSessionHandler({ kms: async () => fakeKms() }));
  const { kms: agent } = agentKms();
  const tr = await establish(t, r, agent);
  const got: Buffer[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b));
  const sealed = agent.seal(Buffer.from('transfer 100 to account 42'));
  sealed[20] = (sealed[20] ?? 0) ^ 0x04;
  // The digest is computed over the tampered bytes: only the GCM tag can catch this.
  tr.receive(agentFrame(3, PayloadType.Output, sealed));
  t.same(got, [], 'no bytes delivered');
  t.equal(r.errors.length, 1);
  t.match(r.errors[0], { code: 'ERR_SESSION_ENCRYPTION' });
  t.ok(r.errors[0] instanceof SessionError);
  t.notOk(ackedSeqs(tr.messages()).includes(3), 'the tampered message is not acked');
  t.equal(r.ch.state, 'closed');
  t.throws(() => r.ch.sendData(Buffer.from('x')), { code: 'ERR_SESSION_ENCRYPTION' }, 'the failure is latched');
});

t.test('a plaintext Output from the agent after encryption was agreed is refused', async (t) => {
  const r = rig(new KmsSessionHandler({ kms: async () => fakeKms() }));
  const { kms: agent } = agentKms();
  const tr = await establish(t, r, agent);
  const got: Buffer[] = [];
  r.ch.on('data', (b: Buffer) => got.push(b));
  tr.receive(agentFrame(3, PayloadType.Output, Buffer.from('plain text that is long enough to look sealed')));
  t.same(got, []);
  t.match(r.errors[0], { code: 'ERR_SESSION_ENCRYPTION' });
});

t.test('wrong key: the challenge does not open, the handshake fails with a typed error', async (t) => {
  const wrong = Buffer.from(DATA_KEY);
  wrong[3] = (wrong[3] ?? 0) ^ 0xff; // in the agent→client half
  const r = rig(new KmsSessionHandler({ kms: async () => fakeKms(wrong) }));
  const { kms: agent } = agentKms();
  const open = r.ch.open();
  await flush();
  const tr = r.conn.last;
  tr.receive(kmsRequest(agent));
  await flush();
  const step = agent.handleHandshakeResponse(
    decodeHandshakeResponse(ofType(tr, PayloadType.HandshakeResponse)[0]?.payload ?? Buffer.alloc(0))
      .processedClientActions,
  );
  t.ok(step.ok);
  if (step.ok) tr.receive(agentFrame(1, PayloadType.EncChallengeRequest, step.value));
  await t.rejects(open, { code: 'ERR_SESSION_ENCRYPTION', message: /challenge|authentication/ });
  t.same(ofType(tr, PayloadType.EncChallengeResponse), [], 'no answer sent');
});

t.test('wrong key in the client→agent half: the agent rejects the answer', async (t) => {
  const wrong = Buffer.from(DATA_KEY);
  wrong[40] = (wrong[40] ?? 0) ^ 0xff;
  const r = rig(new KmsSessionHandler({ kms: async () => fakeKms(wrong) }));
  const { kms: agent } = agentKms();
  void r.ch.open().catch(() => undefined);
  await flush();
  const tr = r.conn.last;
  tr.receive(kmsRequest(agent));
  await flush();
  const step = agent.handleHandshakeResponse(
    decodeHandshakeResponse(ofType(tr, PayloadType.HandshakeResponse)[0]?.payload ?? Buffer.alloc(0))
      .processedClientActions,
  );
  if (step.ok) tr.receive(agentFrame(1, PayloadType.EncChallengeRequest, step.value));
  await flush();
  const answer = ofType(tr, PayloadType.EncChallengeResponse)[0];
  t.ok(answer, 'the client could open the challenge and answered');
  const verdict = agent.handleChallengeResponse(answer?.payload ?? Buffer.alloc(0));
  t.equal(verdict.ok, false);
  t.match(verdict, { output: /Encryption challenge failed/ });
  t.equal(agent.isEstablished, false);
  t.throws(
    () => agent.seal(Buffer.from('x')),
    { code: 'ERR_SESSION_ENCRYPTION' },
    'the agent does not encrypt for an unverified client',
  );
  r.ch.close();
});

t.test('the data channel refuses to send plaintext once encryption was agreed', async (t) => {
  const identity: KmsHandshakeHandler = {
    processKmsEncryption: async () => ({ KMSCipherTextKey: BLOB.toString('base64'), KMSCipherTextHash: null }),
    answerChallenge: (c) => c,
    encrypt: (b) => b, // a broken handler that would leak
    decrypt: (b) => b,
  };
  const r = rig(identity);
  const open = r.ch.open();
  await flush();
  const tr = r.conn.last;
  const { kms: agent } = agentKms();
  tr.receive(kmsRequest(agent));
  await flush();
  tr.receive(
    agentFrame(1, PayloadType.HandshakeComplete, JSON.stringify({ HandshakeTimeToComplete: 1, CustomerMessage: '' })),
  );
  await open;
  const before = tr.frames.length;
  t.throws(() => r.ch.sendData(Buffer.from('secret')), { code: 'ERR_SESSION_PLAINTEXT_REFUSED' });
  t.same(ofType(tr, PayloadType.Output), [], 'no Output left');
  t.equal(tr.frames.length, before, 'nothing at all was sent');
  t.match(r.errors, [{ code: 'ERR_SESSION_PLAINTEXT_REFUSED' }], 'the channel failed with it');
  t.equal(r.ch.state, 'closed');
});

t.test('a refusal in any chunk sends none of the chunks', async (t) => {
  let n = 0;
  const flaky: KmsHandshakeHandler = {
    processKmsEncryption: async () => ({ KMSCipherTextKey: 'eA==', KMSCipherTextHash: null }),
    answerChallenge: (c) => c,
    encrypt: (b) => {
      n++;
      if (n === 2) throw new Error('HSM on fire');
      return Buffer.concat([Buffer.alloc(12), b, Buffer.alloc(16)]);
    },
    decrypt: (b) => b,
  };
  const r = rig(flaky);
  const open = r.ch.open();
  await flush();
  const tr = r.conn.last;
  tr.receive(kmsRequest(agentKms().kms));
  await flush();
  tr.receive(
    agentFrame(1, PayloadType.HandshakeComplete, JSON.stringify({ HandshakeTimeToComplete: 1, CustomerMessage: '' })),
  );
  await open;
  const err = (() => {
    try {
      r.ch.sendData(Buffer.alloc(3000, 1));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.match(err, { code: 'ERR_SESSION_PLAINTEXT_REFUSED' });
  t.match((err as Error).cause, { message: 'HSM on fire' }, 'the cause is kept');
  t.same(ofType(tr, PayloadType.Output), [], 'not even the first, sealable chunk');
});

t.test('KmsSessionHandler without a key: encrypt refuses, decrypt and the challenge fail', async (t) => {
  const h = new KmsSessionHandler({ kms: async () => fakeKms() });
  t.equal(h.isKeyed, false);
  t.throws(() => h.encrypt(Buffer.from('x')), { code: 'ERR_SESSION_PLAINTEXT_REFUSED' });
  t.throws(() => h.decrypt(Buffer.alloc(40)), { code: 'ERR_SESSION_ENCRYPTION' });
  t.throws(() => h.answerChallenge('AAAA'), { code: 'ERR_SESSION_ENCRYPTION' });
});

t.test('a KMS failure answers KMSEncryption Failed and open() rejects with ERR_SESSION_ENCRYPTION', async (t) => {
  const failing: KmsApi = {
    generateDataKey: async () => {
      throw new AwsError('ERR_AWS_ACCESS_DENIED', 'User is not authorized to perform: kms:GenerateDataKey');
    },
  };
  const r = rig(new KmsSessionHandler({ kms: async () => failing }));
  const open = r.ch.open();
  await flush();
  r.conn.last.receive(kmsRequest(agentKms().kms));
  const err = await open.catch((e: unknown) => e);
  t.match(err, { code: 'ERR_SESSION_ENCRYPTION' });
  t.match((err as Error).cause, { code: 'ERR_AWS_ACCESS_DENIED' });
  const resp = decodeHandshakeResponse(
    ofType(r.conn.last, PayloadType.HandshakeResponse)[0]?.payload ?? Buffer.alloc(0),
  );
  t.match(resp.processedClientActions[1], {
    actionType: 'KMSEncryption',
    actionStatus: 2,
    actionResult: null,
    error: /Failed to process action KMSEncryption: User is not authorized/,
  });
});

t.test(
  'kmsHandlerFactory: fresh handler per session, one shared KMS API; a failed client creation is retried',
  async (t) => {
    const api = fakeKms();
    const make = kmsHandlerFactory({ env: {} }, { kms: api });
    const a = make();
    const b = make();
    t.not(a, b);
    await a.processKmsEncryption({ kmsKeyId: 'k' }, { sessionId: 's-a', targetId: TARGET });
    t.ok(a.isKeyed);
    t.notOk(b.isKeyed, 'keys are per session');
    await b.processKmsEncryption({ kmsKeyId: 'k' }, { sessionId: 's-b', targetId: TARGET });
    t.same(
      api.calls.map((c) => c.encryptionContext['aws:ssm:SessionId']),
      ['s-a', 's-b'],
    );

    const insecure = kmsHandlerFactory({ env: { AWS_ENDPOINT_URL_KMS: 'http://kms.internal:8080' } });
    await t.rejects(insecure().processKmsEncryption({ kmsKeyId: 'k' }, { sessionId: 's', targetId: TARGET }), {
      code: 'ERR_AWS_INSECURE_ENDPOINT',
    });
    await t.rejects(
      insecure().processKmsEncryption({ kmsKeyId: 'k' }, { sessionId: 's', targetId: TARGET }),
      { code: 'ERR_AWS_INSECURE_ENDPOINT' },
      'tried again, same verdict',
    );
  },
);
