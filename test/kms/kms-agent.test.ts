/** The emulated agent's KMS steps, driven directly (PortAgent + fake clock, no sockets). */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { FakeClock } from '../helpers/fake-clock.js';
import { flush } from '../helpers/fake-transport.js';
import { PortAgent, HANDSHAKE_TIMEOUT_TEXT } from '../../src/emulator/agent/port-agent.js';
import { ACTION_CHALLENGE_BYTES, KMS_CUSTOMER_MESSAGE } from '../../src/emulator/agent/kms-agent.js';
import {
  ActionType,
  MessageFlags,
  MessageType,
  PayloadType,
  decodeClientMessage,
  decodeEncChallenge,
  decodeHandshakeComplete,
  decodeHandshakeRequest,
  encodeClientMessage,
  encodeEncChallenge,
  encodeHandshakeResponse,
  readKmsEncryptionParameters,
  type ClientMessage,
  type ProcessedClientAction,
} from '../../src/protocol/ssm/index.js';
import { PayloadCipher } from '../../src/protocol/ssm/payload-cipher.js';

const KEY_ID = 'alias/session-key';
const BLOB = Buffer.from('blob-1');
const DATA_KEY = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 13 + 5) & 0xff));

interface Rig {
  agent: PortAgent;
  clock: FakeClock;
  sent: ClientMessage[];
  ended: string[];
  contexts: Record<string, string>[];
  clientSeq: number;
  /** Sends a client stream message with the next sequence number. */
  send(payloadType: PayloadType, payload: Buffer): void;
}

function rig(): Rig {
  const clock = new FakeClock();
  const r: Rig = {
    agent: undefined as unknown as PortAgent,
    clock,
    sent: [],
    ended: [],
    contexts: [],
    clientSeq: 0,
    send(payloadType, payload) {
      const frame = encodeClientMessage({
        messageType: MessageType.InputStreamData,
        createdDate: 1_700_000_000_000 + r.clientSeq,
        sequenceNumber: r.clientSeq++,
        flags: MessageFlags.Data,
        messageId: randomUUID(),
        payloadType,
        payload,
      });
      r.agent.handleMessage(decodeClientMessage(frame));
    },
  };
  r.agent = new PortAgent({
    sessionId: 's-agent-kms',
    instanceId: 'i-0123456789abcdef0',
    agentVersion: '3.3.1142.0',
    properties: { type: 'LocalPortForwarding', portNumber: '7', localPortNumber: '0' },
    clock,
    pacing: 'none',
    mappings: [],
    denyList: [],
    sendFrame: (f) => r.sent.push(decodeClientMessage(f)),
    onEnd: (o) => r.ended.push(o),
    kms: {
      kmsKeyId: KEY_ID,
      unwrapDataKey: (blob, context) => {
        r.contexts.push(context);
        if (!blob.equals(BLOB)) throw new Error('InvalidCiphertextException: the ciphertext is invalid');
        return Buffer.from(DATA_KEY);
      },
    },
  });
  r.agent.setConnected(true);
  r.agent.start();
  t.teardown(() => r.agent.stop());
  return r;
}

const stream = (r: Rig, pt: PayloadType): ClientMessage[] =>
  r.sent.filter((m) => m.messageType === MessageType.OutputStreamData && m.payloadType === pt);

function response(kmsAction: Partial<ProcessedClientAction> = {}): Buffer {
  return encodeHandshakeResponse({
    clientVersion: '1.2.677.0',
    processedClientActions: [
      { actionType: ActionType.SessionType, actionStatus: 1, actionResult: null, error: '' },
      {
        actionType: ActionType.KMSEncryption,
        actionStatus: 1,
        actionResult: { KMSCipherTextKey: BLOB.toString('base64'), KMSCipherTextHash: null },
        error: '',
        ...kmsAction,
      },
    ],
    errors: null,
  });
}

/** Lets the agent's end-after-drain wait run out on the fake clock. */
function settle(r: Rig): void {
  for (let i = 0; i < 300 && r.ended.length === 0; i++) r.clock.advance(10);
}

t.test('HandshakeRequest asks for KMSEncryption with the key id and a 16-byte challenge', async (t) => {
  const r = rig();
  const req = decodeHandshakeRequest(stream(r, PayloadType.HandshakeRequest)[0]?.payload ?? Buffer.alloc(0));
  t.same(
    req.requestedClientActions.map((a) => a.actionType),
    ['SessionType', 'KMSEncryption'],
    'SessionType first',
  );
  const kms = readKmsEncryptionParameters(req.requestedClientActions[1] ?? { actionType: '', actionParameters: null });
  t.equal(kms.kmsKeyId, KEY_ID);
  t.equal(Buffer.from(kms.challenge ?? '', 'base64').length, ACTION_CHALLENGE_BYTES);
});

t.test('challenge at agent seq 1, HandshakeComplete with the KMS message after a correct answer', async (t) => {
  const r = rig();
  r.send(PayloadType.HandshakeResponse, response());
  t.same(r.contexts, [{ 'aws:ssm:SessionId': 's-agent-kms', 'aws:ssm:TargetId': 'i-0123456789abcdef0' }]);
  const chal = stream(r, PayloadType.EncChallengeRequest)[0];
  t.equal(chal?.sequenceNumber, 1);
  t.same(stream(r, PayloadType.HandshakeComplete), [], 'no HandshakeComplete before the answer');
  const client = new PayloadCipher(DATA_KEY, 'client');
  const plain = client.open(Buffer.from(decodeEncChallenge(chal?.payload ?? Buffer.alloc(0)), 'base64'));
  t.equal(plain.length, 64, 'the challenge is 64 bytes');
  r.send(PayloadType.EncChallengeResponse, encodeEncChallenge(client.seal(plain).toString('base64')));
  const complete = stream(r, PayloadType.HandshakeComplete)[0];
  t.equal(complete?.sequenceNumber, 2);
  t.equal(decodeHandshakeComplete(complete?.payload ?? Buffer.alloc(0)).customerMessage, KMS_CUSTOMER_MESSAGE);
  t.same(r.ended, []);
});

t.test('a client answer that opens to other bytes ends the session', async (t) => {
  const r = rig();
  r.send(PayloadType.HandshakeResponse, response());
  const client = new PayloadCipher(DATA_KEY, 'client');
  r.send(PayloadType.EncChallengeResponse, encodeEncChallenge(client.seal(Buffer.alloc(64, 1)).toString('base64')));
  settle(r);
  t.match(r.ended, [/^Encryption challenge failed: the client answered with other bytes/]);
  t.same(stream(r, PayloadType.HandshakeComplete), []);
});

t.test('an unopenable KMSCipherTextKey, or none, ends the session', async (t) => {
  const bad = rig();
  bad.send(
    PayloadType.HandshakeResponse,
    response({ actionResult: { KMSCipherTextKey: Buffer.from('forged').toString('base64'), KMSCipherTextHash: null } }),
  );
  settle(bad);
  t.match(bad.ended, [/^Fetching data key failed: InvalidCiphertextException/]);
  t.same(stream(bad, PayloadType.EncChallengeRequest), []);

  const none = rig();
  none.send(PayloadType.HandshakeResponse, response({ actionResult: null }));
  settle(none);
  t.match(none.ended, [/no KMSCipherTextKey/]);

  const failed = rig();
  failed.send(
    PayloadType.HandshakeResponse,
    response({ actionStatus: 2, actionResult: null, error: 'Failed to process action KMSEncryption: denied' }),
  );
  settle(failed);
  t.match(failed.ended, [
    /^KMSEncryption failed on client with status 2 error: Failed to process action KMSEncryption: denied/,
  ]);
});

t.test('no answer to the challenge within 15 s: handshake timeout', async (t) => {
  const r = rig();
  r.clock.advance(10_000);
  r.send(PayloadType.HandshakeResponse, response());
  r.clock.advance(14_999);
  t.same(r.ended, [], 'the challenge gets its own 15 s');
  r.clock.advance(1);
  settle(r);
  t.same(r.ended, [HANDSHAKE_TIMEOUT_TEXT]);
});

t.test('client Output is opened; a tampered one ends the session without reaching the plugin', async (t) => {
  const r = rig();
  r.send(PayloadType.HandshakeResponse, response());
  const client = new PayloadCipher(DATA_KEY, 'client');
  const chal = Buffer.from(
    decodeEncChallenge(stream(r, PayloadType.EncChallengeRequest)[0]?.payload ?? Buffer.alloc(0)),
    'base64',
  );
  r.send(PayloadType.EncChallengeResponse, encodeEncChallenge(client.seal(client.open(chal)).toString('base64')));
  await flush(); // planning → running
  const got: Buffer[] = [];
  r.agent.channel.on('data', (b: Buffer) => got.push(b));
  // An smux v1 NOP frame (version 1, cmd 3, length 0, stream 0): harmless to the server mux.
  const nop = Buffer.from([1, 3, 0, 0, 0, 0, 0, 0]);
  r.send(PayloadType.Output, client.seal(nop));
  t.same(got, [nop], 'opened and handed to the plugin');
  const sealed = client.seal(nop);
  sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1;
  r.send(PayloadType.Output, sealed);
  t.equal(got.length, 1, 'the tampered payload is not handed on');
  settle(r);
  t.match(r.ended, [/^Failed to decrypt client data: .*authentication/]);
});
