/**
 * Every fault knob, observed on a real websocket: what the client sees, and the 'fault' events.
 */
import t from 'tap';
import { once } from 'node:events';
import { FakeClock } from '../../helpers/fake-clock.js';
import { MessageType, PayloadType } from '../../../src/protocol/ssm/message-type.js';
import { decodeAcknowledge } from '../../../src/protocol/ssm/payloads.js';
import type { ClientMessage } from '../../../src/protocol/ssm/client-message.js';
import type { Emulator } from '../../../src/emulator/index.js';
import { withEmulator, createRawSession, portProperties, startSession, ssmClient } from '../../helpers/emulator.js';
import { RawClient } from '../../helpers/raw-client.js';
import { StartSessionCommand } from '@aws-sdk/client-ssm';

function faultKinds(emu: Emulator): string[] {
  const kinds: string[] = [];
  emu.events.on('fault', (e) => kinds.push(e.dir ? `${e.kind}:${e.dir}` : e.kind));
  return kinds;
}

const isAckOf = (seq: number) => (m: ClientMessage) =>
  m.messageType === MessageType.Acknowledge && decodeAcknowledge(m.payload).acknowledgedMessageSequenceNumber === seq;

t.test('dropAfterMessages: the socket is cut without channel_closed; the client re-attaches', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', faults: { dropAfterMessages: 3 } });
  const kinds = faultKinds(emu);
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  const detached = once(emu.events, 'client-detached');
  // HandshakeRequest (1), the client's ack (2), HandshakeResponse (3): then the cut.
  void client.handshake().catch(() => undefined);
  await once(client, 'closed');
  t.equal(client.closeCode, 1006, 'abrupt close, no close frame');
  t.equal(client.received.filter((m) => m.messageType === MessageType.ChannelClosed).length, 0);
  t.equal(((await detached) as [{ reason: string }])[0].reason, 'dropped');
  t.ok(kinds.includes('drop-after-messages'));
  t.ok((emu.gatewaySession(s.sessionId)?.counters.messages ?? 0) >= 3);

  const again = await RawClient.connect(s.streamUrl, emu.state.issueToken(s.sessionId));
  t.teardown(() => again.drop());
  // Counters are unchanged: the client's next input is seq 1, and the agent acks it.
  again.nextSeq = 1;
  again.sendOutput(Buffer.from([1, 3, 0, 0, 0, 0, 0, 0]));
  await again.waitForAck(1);
  t.equal(kinds.filter((k) => k === 'drop-after-messages').length, 1, 'once per session');
});

t.test('dropAfterBytes: the socket is cut once the byte count is reached', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', faults: { dropAfterBytes: 200 } });
  const kinds = faultKinds(emu);
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await once(client, 'closed');
  t.equal(client.closeCode, 1006);
  t.same(kinds, ['drop-after-bytes'], 'the HandshakeRequest alone is over 200 bytes');
});

t.test('dropEveryMs and byeAfterMs act on each attached socket, on the clock', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, {
    clock,
    pacing: 'none',
    idleTimeoutMs: 0,
    faults: { byeAfterMs: 1000, dropEveryMs: 5000 },
  });
  const kinds = faultKinds(emu);
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const a = await RawClient.connect(s.streamUrl, s.tokenValue);
  await a.waitForOutputSeq(0);
  clock.advance(1000);
  await once(a, 'closed');
  t.equal(a.closeCode, 1000);
  t.equal(a.closeReason, 'Bye', 'a clean close 1000 "Bye", as the service recycles sockets');
  t.equal(
    a.received.filter((m) => m.messageType === MessageType.ChannelClosed).length,
    0,
    'no channel_closed: the session goes on',
  );

  emu.faults = { dropEveryMs: 300 };
  const b = await RawClient.connect(s.streamUrl, emu.state.issueToken(s.sessionId));
  await b.waitForOutputSeq(0);
  clock.advance(300);
  await once(b, 'closed');
  t.equal(b.closeCode, 1006);
  t.same(kinds, ['bye', 'drop-every']);
});

t.test('dropRate loses records; the agent retransmits once the path is clean', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0, faults: { dropRate: 1 } });
  const kinds = faultKinds(emu);
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const dropped = once(emu.events, 'fault');
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await dropped;
  t.same(kinds, ['drop:s2c'], 'the HandshakeRequest was dropped');
  emu.faults = {};
  clock.advance(300); // past the agent's initial RTO (200 ms) and a resend tick
  const req = await client.waitForOutputSeq(0);
  t.equal(req.payloadType, PayloadType.HandshakeRequest);
});

t.test('duplicateRate delivers records twice; the client sees the same seq and id again', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none', faults: { duplicateRate: 1 } });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { autoAck: false });
  t.teardown(() => client.drop());
  const first = await client.waitForOutputSeq(0);
  const second = await client.waitFor(
    (m) => m.sequenceNumber === 0 && m.messageType === MessageType.OutputStreamData,
    client.received.indexOf(first) + 1,
  );
  t.equal(second.messageId, first.messageId);
});

t.test('reorderRate holds a record back so a later one overtakes it', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await client.waitForOutputSeq(0);
  // Hold the agent's HandshakeComplete only: switch reordering on when the HandshakeResponse
  // reaches the agent, and off again at the first reorder.
  emu.events.on('message', (e) => {
    if (e.dir !== 'c2s' || e.message.payloadType !== PayloadType.HandshakeResponse) return;
    emu.faults = { reorderRate: 1, reorderWindow: 1 };
    emu.events.once('fault', () => {
      emu.faults = {};
    });
  });
  await client.handshake();
  const iComplete = client.received.findIndex((m) => m.payloadType === PayloadType.HandshakeComplete);
  const iAck = client.received.findIndex(isAckOf(0));
  // Without the fault the ack comes first (as the real agent sends them); held back, it is overtaken.
  t.ok(iComplete >= 0 && iComplete < iAck, 'HandshakeComplete overtook the held-back ack of the HandshakeResponse');
});

t.test('delayRate and ackDelayMs delay records on the clock', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0, faults: { delayRate: 1, delayMs: 50 } });
  const kinds = faultKinds(emu);
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const delayed = once(emu.events, 'fault');
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await delayed;
  t.same(client.received, [], 'nothing yet');
  clock.advance(50);
  await client.waitForOutputSeq(0);
  t.same(kinds, ['delay:s2c']);

  emu.faults = { ackDelayMs: 80 };
  const hsDone = client.handshake();
  await once(emu.events, 'fault'); // the HandshakeResponse's ack is held (c2s acks of seq 0 too)
  clock.advance(80);
  await hsDone;
  await client.waitFor(isAckOf(0));
  t.ok(kinds.includes('ack-delay:s2c'), 'the agent ack was delayed');
});

t.test('an instance marked not connected refuses StartSession with TargetNotConnected', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const id = emu.state.options.instances[0]?.instanceId ?? '';
  emu.setInstancePingStatus(id, 'ConnectionLost');
  const client = ssmClient(emu);
  t.teardown(() => client.destroy());
  const err = await client
    .send(
      new StartSessionCommand({
        Target: id,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { portNumber: ['80'] },
      }),
    )
    .catch((e: unknown) => e);
  t.equal((err as { name?: string }).name, 'TargetNotConnected');
  emu.setInstancePingStatus(id, 'Online');
  t.ok((await startSession(emu)).sessionId, 'online again');
});
