/**
 * KMS session encryption through the emulator over real sockets: an instance with `kmsKeyId`,
 * TunnelManager (default factory → KmsSessionHandler → @aws-sdk/client-kms → emulator KMS), the
 * emulated agent's challenge, sealed Output both ways, sha256-checked.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { emulatorAwsSettings, makeManager, sha, startEcho, startEmu } from '../helpers/engine-rig.js';
import { roundTrip } from '../helpers/round-trip.js';
import { createKmsApi, type KmsApi } from '../../src/aws/kms.js';
import { createDefaultSessionFactory } from '../../src/tunnel/default-factory.js';
import { kmsHandlerFactory } from '../../src/tunnel/kms-handler.js';
import { KMS_CUSTOMER_MESSAGE } from '../../src/emulator/agent/kms-agent.js';
import { MessageType, PayloadType, type ClientMessage } from '../../src/protocol/ssm/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import type { Direction } from '../../src/emulator/index.js';
import { startLoopbackServer } from '../helpers/loopback.js';

const INSTANCE = 'i-0aaaabbbbccccdddd';
const KEY = '0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f9';
const target = { kind: 'id' as const, id: INSTANCE };

interface Seen {
  dir: Direction;
  message: ClientMessage;
}

function record(emu: Emulator): Seen[] {
  const seen: Seen[] = [];
  emu.events.on('message', (e) => seen.push({ dir: e.dir, message: e.message }));
  return seen;
}

const outputs = (seen: Seen[], dir: Direction): Buffer[] =>
  seen
    .filter(
      (s) =>
        s.dir === dir &&
        s.message.messageType !== MessageType.Acknowledge &&
        s.message.payloadType === PayloadType.Output,
    )
    .map((s) => s.message.payload);

/**
 * A destination that reads exactly `upBytes`, answers with sha256(what it read) followed by
 * `down` (its own random bytes), and records what it got.
 */
async function startExchange(
  t: { teardown(fn: () => unknown): void },
  upBytes: number,
  down: Buffer,
): Promise<{ port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const { port } = await startLoopbackServer(t, (s) => {
    const h = createHash('sha256');
    const parts: Buffer[] = [];
    let n = 0;
    s.on('data', (b: Buffer) => {
      if (n >= upBytes) return;
      parts.push(b);
      h.update(b);
      n += b.length;
      if (n >= upBytes) {
        received.push(Buffer.concat(parts));
        s.write(Buffer.concat([h.digest(), down]));
      }
    });
  });
  return { port, received };
}

t.test(
  'an instance with kmsKeyId: encrypted session, sha256-verified uploads and downloads, sealed on the wire',
  async (t) => {
    const emu = await startEmu(t, { instances: [{ instanceId: INSTANCE, kmsKeyId: KEY }] });
    const seen = record(emu);
    const handshakes: unknown[] = [];
    emu.events.on('handshake-complete', (h) => handshakes.push(h));
    const up = randomBytes(300_000);
    const down = randomBytes(400_000);
    const dest = await startExchange(t, up.length, down);
    const { manager } = makeManager(t, emu);
    const f = manager.add({ name: 'enc', target, remotePort: dest.port, localPort: 'auto', bind: ['127.0.0.1'] });
    await manager.start();
    t.equal(f.state, 'ready');
    t.ok(
      emu.state.calls.some((c) => c.operation === 'kms:GenerateDataKey' && c.errorCode === undefined),
      'the client asked the emulator KMS for a data key',
    );

    const back = await roundTrip(f.port ?? 0, up, '127.0.0.1', 32 + down.length);
    t.equal(back.length, 32 + down.length);
    t.equal(sha(dest.received[0] ?? Buffer.alloc(0)), sha(up), 'upload intact at the destination');
    t.equal(back.subarray(0, 32).toString('hex'), sha(up), 'and the destination says so');
    t.equal(sha(back.subarray(32)), sha(down), 'download intact');

    // A few concurrent echo connections through the same encrypted session.
    const echo = await startEcho(t);
    const g = manager.add({ name: 'enc-echo', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
    await g.start();
    const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(10_000 + i * 3_001));
    const echoed = await Promise.all(payloads.map((p) => roundTrip(g.port ?? 0, p)));
    t.same(echoed.map(sha), payloads.map(sha), 'concurrent echoes intact');

    const c2s = outputs(seen, 'c2s');
    const s2c = outputs(seen, 's2c');
    t.ok(c2s.length > 300 && s2c.length > 400, 'many Output messages each way');
    t.ok(
      [...c2s, ...s2c].every((p) => p.length >= 29 && p.length <= 1024 + 28),
      'every Output is one sealed ≤ 1024-byte chunk',
    );
    t.ok(
      c2s.some((p) => p.length === 1052) && s2c.some((p) => p.length === 1052),
      'full chunks are 1052 bytes on the wire',
    );
    const probeUp = up.subarray(5000, 5032);
    const probeDown = down.subarray(7000, 7032);
    t.notOk(
      c2s.some((p) => p.includes(probeUp)),
      'no plaintext of the upload on the wire',
    );
    t.notOk(
      s2c.some((p) => p.includes(probeDown)),
      'no plaintext of the download on the wire',
    );
    const challenge = seen.filter(
      (s) =>
        s.message.payloadType === PayloadType.EncChallengeRequest ||
        s.message.payloadType === PayloadType.EncChallengeResponse,
    );
    t.same(
      challenge
        .filter((s) => s.message.messageType !== MessageType.Acknowledge)
        .map((s) => [s.dir, s.message.payloadType, s.message.sequenceNumber])
        .slice(0, 2),
      [
        ['s2c', PayloadType.EncChallengeRequest, 1],
        ['c2s', PayloadType.EncChallengeResponse, 1],
      ],
      'challenge at agent seq 1, answer at client seq 1',
    );
    const complete = seen.find((s) => s.dir === 's2c' && s.message.payloadType === PayloadType.HandshakeComplete);
    t.match(
      complete?.message.payload.toString(),
      new RegExp(`"CustomerMessage":"${KMS_CUSTOMER_MESSAGE.replace(/\./g, '\\.')}"`),
    );
    t.ok(handshakes.length >= 2);
  },
);

t.test('instances without kmsKeyId stay unencrypted (the real agent never encrypts Port sessions)', async (t) => {
  const emu = await startEmu(t, { instances: [{ instanceId: INSTANCE }] });
  const seen = record(emu);
  const echo = await startEcho(t);
  const { manager } = makeManager(t, emu);
  const f = manager.add({ name: 'plain', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  const p = randomBytes(5000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p));
  t.ok(
    outputs(seen, 'c2s').some((b) => b.includes(p.subarray(100, 132))),
    'Output is plaintext',
  );
  t.notOk(
    emu.state.calls.some((c) => c.operation.startsWith('kms:')),
    'no KMS call',
  );
  t.notOk(seen.some((s) => s.message.payloadType === PayloadType.EncChallengeRequest));
});

/** A KMS API that hands out a different plaintext than the blob wraps (byte `at` flipped). */
function corruptingKms(real: KmsApi, at: number): KmsApi {
  return {
    async generateDataKey(input) {
      const k = await real.generateDataKey(input);
      k.plaintext[at] = (k.plaintext[at] ?? 0) ^ 0xff;
      return k;
    },
  };
}

t.test(
  'wrong key (agent→client half): the challenge does not open, the forward fails with ERR_SESSION_ENCRYPTION',
  async (t) => {
    const emu = await startEmu(t, { instances: [{ instanceId: INSTANCE, kmsKeyId: KEY }] });
    const seen = record(emu);
    const aws = emulatorAwsSettings(emu);
    const { manager } = makeManager(t, emu, {
      factory: createDefaultSessionFactory({
        kms: kmsHandlerFactory(aws, { kms: corruptingKms(createKmsApi(aws), 5) }),
      }),
      startAttempts: 1,
    });
    const f = manager.add({ name: 'wrong', target, remotePort: 9, localPort: 'auto', bind: ['127.0.0.1'] });
    await manager.start();
    t.equal(f.state, 'failed');
    t.equal(f.error?.code, 'ERR_SESSION_ENCRYPTION');
    t.notOk(
      seen.some((s) => s.dir === 'c2s' && s.message.payloadType === PayloadType.EncChallengeResponse),
      'no answer to the challenge',
    );
    t.notOk(
      seen.some((s) => s.message.payloadType === PayloadType.Output),
      'no Output either way',
    );
  },
);

t.test('wrong key (client→agent half): the agent rejects the answer and ends the session', async (t) => {
  const emu = await startEmu(t, { instances: [{ instanceId: INSTANCE, kmsKeyId: KEY }] });
  const ended: string[] = [];
  emu.events.on('agent-ended', (e) => ended.push(e.output));
  const aws = emulatorAwsSettings(emu);
  const { manager } = makeManager(t, emu, {
    factory: createDefaultSessionFactory({
      kms: kmsHandlerFactory(aws, { kms: corruptingKms(createKmsApi(aws), 40) }),
    }),
    startAttempts: 1,
  });
  const f = manager.add({ name: 'wrong-up', target, remotePort: 9, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  t.equal(f.state, 'failed');
  t.match(f.error?.message, /Encryption challenge failed/);
  t.match(ended, [/Encryption challenge failed/]);
});
