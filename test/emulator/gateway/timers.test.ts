import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { FakeClock } from '../../helpers/fake-clock.js';
import { MessageType, PayloadType } from '../../../src/protocol/ssm/message-type.js';
import { decodeChannelClosed } from '../../../src/protocol/ssm/payloads.js';
import { AGENT_CLOSE_DRAIN_MS } from '../../../src/emulator/agent/port-agent.js';
import { HANDSHAKE_TIMEOUT_TEXT, IDLE_TIMEOUT_TEXT, MAX_DURATION_TEXT } from '../../../src/emulator/index.js';
import type { Emulator } from '../../../src/emulator/index.js';
import { withEmulator, createRawSession, portProperties } from '../../helpers/emulator.js';
import { RawClient } from '../../helpers/raw-client.js';

/** A destination that sends `n` bytes as soon as it is connected (basic mode dials at start). */
async function burstServer(t: Test, n: number): Promise<number> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.write(Buffer.alloc(n, 0x61));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

function countOutputsSent(emu: Emulator): { count: number } {
  const c = { count: 0 };
  emu.events.on('message', (e) => {
    if (
      e.dir === 's2c' &&
      e.message.messageType === MessageType.OutputStreamData &&
      e.message.payloadType === PayloadType.Output
    )
      c.count += 1;
  });
  return c;
}

t.test("pacing 'agent': one ≤1024-byte Output, then at least 1 ms on the clock before the next", async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'agent', idleTimeoutMs: 0 });
  const port = await burstServer(t, 5000);
  const s = createRawSession(emu, { properties: portProperties(port) });
  const sent = countOutputsSent(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.1.61.0' });
  t.teardown(() => client.drop());
  await client.handshake('1.1.61.0');
  await client.waitForOutputSeq(2);
  t.equal(sent.count, 1, 'only the first Output went out');
  for (let i = 2; i <= 5; i++) {
    clock.advance(0.5);
    t.equal(sent.count, i - 1, 'half a millisecond is not enough');
    clock.advance(0.5);
    t.equal(sent.count, i, `after 1 ms, Output ${i} goes out`);
  }
  t.equal((await client.readOutput(5000)).length, 5000);
  t.same(
    client.received.filter((m) => m.payloadType === PayloadType.Output).map((m) => m.payload.length),
    [1024, 1024, 1024, 1024, 904],
  );
});

t.test("pacing 'none': everything goes out without the clock moving", async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0 });
  const port = await burstServer(t, 5000);
  const s = createRawSession(emu, { properties: portProperties(port) });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.1.61.0' });
  t.teardown(() => client.drop());
  await client.handshake('1.1.61.0');
  t.equal((await client.readOutput(5000)).length, 5000);
  t.equal(clock.now(), 0);
});

t.test('mux: no Output before the client first sends Output, even with smux keep-alive on', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0 });
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const sent = countOutputsSent(emu);
  const hs = once(emu.events, 'handshake-complete');
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.2.0.0' });
  t.teardown(() => client.drop());
  await client.handshake('1.2.0.0');
  t.equal(
    ((await hs) as [{ keepAlive: boolean }])[0].keepAlive,
    true,
    'an unstamped plugin (1.2.0.0) gets agent keep-alive',
  );
  clock.advance(10_000); // the smux keep-alive NOP is due
  t.equal(sent.count, 0, 'the NOP is held back');
  client.sendOutput(Buffer.from([1, 3, 0, 0, 0, 0, 0, 0])); // the client's own NOP
  const nop = await client.waitFor((m) => m.payloadType === PayloadType.Output);
  t.same(nop.payload, Buffer.from([1, 3, 0, 0, 0, 0, 0, 0]), 'then the agent NOP flows');
});

t.test('idle timeout: channel_closed with the service text after idleTimeoutMs without stream data', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 1000 });
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await client.handshake();
  await client.waitForAck(0);
  clock.advance(600);
  client.sendOutput(Buffer.from([1, 3, 0, 0, 0, 0, 0, 0]));
  await client.waitForAck(1);
  clock.advance(999);
  t.equal(
    client.received.filter((m) => m.messageType === MessageType.ChannelClosed).length,
    0,
    'activity at 600 ms pushed the deadline',
  );
  clock.advance(1);
  const cc = await client.waitForChannelClosed();
  t.equal(decodeChannelClosed(cc.payload).output, IDLE_TIMEOUT_TEXT);
  t.equal(IDLE_TIMEOUT_TEXT, 'Your session timed out due to inactivity and has been terminated.');
  t.equal(emu.state.sessions.get(s.sessionId)?.closeOutput, IDLE_TIMEOUT_TEXT);
});

t.test('maximum session duration: channel_closed with its text', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0, maxSessionDurationMs: 5000 });
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await client.handshake();
  clock.advance(4999);
  t.equal(client.received.filter((m) => m.messageType === MessageType.ChannelClosed).length, 0);
  clock.advance(1);
  t.equal(decodeChannelClosed((await client.waitForChannelClosed()).payload).output, MAX_DURATION_TEXT);
});

t.test('the agent times out a handshake nobody answers', async (t) => {
  const clock = new FakeClock();
  const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0 });
  const s = createRawSession(emu, { properties: portProperties(emu.port) });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await client.waitForOutputSeq(0);
  clock.advance(15_000);
  // The agent then waits up to 2 s for its unacked output before it reports the failure.
  clock.advance(AGENT_CLOSE_DRAIN_MS);
  t.equal(decodeChannelClosed((await client.waitForChannelClosed()).payload).output, HANDSHAKE_TIMEOUT_TEXT);
});

t.test(
  'restartAgent: the new agent starts over at seq 0, which the client ignores, and the session ends with the agent failure',
  async (t) => {
    const clock = new FakeClock();
    const emu = await withEmulator(t, { clock, pacing: 'none', idleTimeoutMs: 0 });
    const s = createRawSession(emu, { properties: portProperties(emu.port) });
    const client = await RawClient.connect(s.streamUrl, s.tokenValue);
    const { request } = await client.handshake();
    await client.waitForAck(0);
    // Like the real client, do not ack what is below the expected sequence number.
    client.autoAck = false;
    const restarted = once(emu.events, 'agent-restarted');
    emu.restartAgent(s.sessionId);
    await restarted;
    const second = await client.waitFor(
      (m) => m.payloadType === PayloadType.HandshakeRequest && m.messageId !== request.messageId,
    );
    t.equal(second.sequenceNumber, 0, 'fresh sequence numbers');
    t.equal(second.flags, 1);
    t.equal(client.expectedSeq, 2, 'the client still expects seq 2: the new request is an old duplicate to it');
    clock.advance(15_000);
    t.equal(
      client.received.filter((m) => m.messageType === MessageType.ChannelClosed).length,
      0,
      'the unacked request holds the report up to 2 s',
    );
    clock.advance(AGENT_CLOSE_DRAIN_MS);
    t.equal(decodeChannelClosed((await client.waitForChannelClosed()).payload).output, HANDSHAKE_TIMEOUT_TEXT);
  },
);
