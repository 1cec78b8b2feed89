import t from 'tap';
import { once } from 'node:events';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { MessageType, PayloadType, FlagCode } from '../../../src/protocol/ssm/message-type.js';
import {
  decodeChannelClosed,
  decodeHandshakeComplete,
  encodeOpenDataChannel,
} from '../../../src/protocol/ssm/payloads.js';
import { withEmulator, startSession, createRawSession, portProperties } from '../../helpers/emulator.js';
import { RawClient } from '../../helpers/raw-client.js';

t.test(
  'handshake: HandshakeRequest seq 0 Flags 1 with sorted properties, then HandshakeComplete in integer ns',
  async (t) => {
    const emu = await withEmulator(t, {
      pacing: 'none',
      instances: [{ instanceId: 'i-0123456789abcdef0', name: 'demo', agentVersion: '3.3.1142.0' }],
    });
    const s = await startSession(emu, { parameters: { portNumber: ['7777'] } });
    const hs = once(emu.events, 'handshake-complete');
    const client = await RawClient.connect(s.streamUrl, s.tokenValue);
    t.teardown(() => client.drop());
    const { agentVersion, properties, request, complete } = await client.handshake();
    t.equal(client.received[0], request, 'the HandshakeRequest is the first record: nothing answers the open frame');
    t.equal(request.sequenceNumber, 0);
    t.equal(request.flags, 1);
    t.equal(agentVersion, '3.3.1142.0');
    t.same(properties, { localPortNumber: '0', portNumber: '7777', type: 'LocalPortForwarding' });
    t.equal(
      request.payload.toString(),
      '{"AgentVersion":"3.3.1142.0","RequestedClientActions":[{"ActionType":"SessionType","ActionParameters":{"SessionType":"Port","Properties":{"localPortNumber":"0","portNumber":"7777","type":"LocalPortForwarding"}}}]}',
      'byte-identical to the real agent (keys sorted)',
    );
    t.equal(complete.sequenceNumber, 1);
    t.equal(complete.flags, 0);
    const hc = decodeHandshakeComplete(complete.payload);
    t.ok(Number.isSafeInteger(hc.handshakeTimeToCompleteNs) && hc.handshakeTimeToCompleteNs > 0, 'integer nanoseconds');
    t.equal(hc.customerMessage, '');
    await client.waitForAck(0);
    const [info] = (await hs) as [{ mode: string; keepAlive: boolean; clientVersion: string }];
    t.same(
      { mode: info.mode, keepAlive: info.keepAlive, clientVersion: info.clientVersion },
      { mode: 'mux', keepAlive: false, clientVersion: '1.2.677.0' },
    );
    t.equal(emu.state.sessions.get(s.sessionId)?.status, 'connected');
  },
);

t.test('mux vs basic and smux keep-alive follow the agent version gates on ClientVersion', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const cases: Array<[string, string, boolean]> = [
    ['1.1.61.0', 'basic', false],
    ['1.1.70', 'mux', true],
    ['1.2.0.0', 'mux', true],
    ['1.2.331.0', 'mux', true],
    ['1.2.332.0', 'mux', false],
    ['1.2.677.0', 'mux', false],
  ];
  for (const [clientVersion, mode, keepAlive] of cases) {
    // Basic mode dials at once: give it a listening port (the emulator's own).
    const s = createRawSession(emu, { properties: portProperties(emu.port) });
    const hs = once(emu.events, 'handshake-complete');
    const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion });
    await client.handshake(clientVersion);
    const [info] = (await hs) as [{ mode: string; keepAlive: boolean }];
    t.same([info.mode, info.keepAlive], [mode, keepAlive], `ClientVersion ${clientVersion}`);
    client.drop();
  }
  // A non-forwarding type (AWS-StartSSHSession) is always basic.
  const ssh = createRawSession(emu, {
    properties: { portNumber: String(emu.port) },
    documentName: 'AWS-StartSSHSession',
  });
  const hs = once(emu.events, 'handshake-complete');
  const c = await RawClient.connect(ssh.streamUrl, ssh.tokenValue);
  t.teardown(() => c.drop());
  await c.handshake();
  t.equal(((await hs) as [{ mode: string }])[0].mode, 'basic');
});

t.test(
  'an emulated agent also follows its own release: no smux up to 3.0.196.0, keep-alive on up to 3.1.1511.0',
  async (t) => {
    const emu = await withEmulator(t, {
      pacing: 'none',
      instances: [
        { instanceId: 'i-000000000000000a1', agentVersion: '3.0.196.0' },
        { instanceId: 'i-000000000000000a2', agentVersion: '3.0.197.0' },
        { instanceId: 'i-000000000000000a3', agentVersion: '3.1.1511.0' },
        { instanceId: 'i-000000000000000a4', agentVersion: '3.1.1512.0' },
      ],
    });
    const cases: Array<[string, string, boolean]> = [
      ['i-000000000000000a1', 'basic', false],
      ['i-000000000000000a2', 'mux', true],
      ['i-000000000000000a3', 'mux', true],
      ['i-000000000000000a4', 'mux', false],
    ];
    for (const [instanceId, mode, keepAlive] of cases) {
      const s = createRawSession(emu, { instanceId, properties: portProperties(emu.port) });
      const hs = once(emu.events, 'handshake-complete');
      const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.2.677.0' });
      await client.handshake('1.2.677.0');
      const [info] = (await hs) as [{ mode: string; keepAlive: boolean }];
      t.same(
        [info.mode, info.keepAlive],
        [mode, keepAlive],
        `agent ${emu.state.instances.get(instanceId)?.agentVersion} with client 1.2.677.0`,
      );
      client.drop();
    }
  },
);

t.test('a HandshakeResponse with a failed action ends the session with the agent text', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  const request = await client.waitFor((m) => m.payloadType === PayloadType.HandshakeRequest);
  t.ok(request);
  const closed = client.waitForChannelClosed();
  void client.handshake('1.2.677.0', 2).catch(() => undefined);
  const cc = decodeChannelClosed((await closed).payload);
  t.equal(cc.output, 'SessionType failed on client with status 2 error: refused by test');
});

t.test('bad tokens, binary first frames and unknown sessions are refused and recorded', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const bad = await RawClient.connect(s.streamUrl, 'not-the-token');
  await once(bad, 'closed');
  t.equal(bad.closeCode, 1008);
  t.same(bad.received, [], 'nothing is sent to a refused socket');

  const ws = new WebSocket(s.streamUrl);
  await once(ws, 'open');
  ws.send(Buffer.from('binary first frame'));
  await once(ws, 'close');

  const unknown = await RawClient.connect(s.streamUrl.replace(s.sessionId, 'emulator-00000000000000000'), s.tokenValue);
  await once(unknown, 'closed');
  t.equal(emu.errors.length, 3);
  t.ok(emu.errors.every((e) => e.code === 'ERR_EMULATOR_BAD_TOKEN'));

  const notFound = new WebSocket(`${emu.endpoint.replace('http', 'ws')}/v2/other`);
  notFound.on('error', () => undefined);
  const [, res] = (await once(notFound, 'unexpected-response')) as [unknown, { statusCode: number }];
  t.equal(res.statusCode, 404);
  notFound.terminate();

  // The good token still works.
  const good = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => good.drop());
  await good.handshake();
  t.pass('a correct token is accepted');
});

t.test('TerminateSession (API) sends channel_closed with Output "" before closing the socket', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await client.handshake();
  const closedEvent = once(emu.events, 'channel-closed');
  emu.terminate(s.sessionId);
  const cc = await client.waitForChannelClosed();
  await once(client, 'closed');
  t.equal(cc.sequenceNumber, 0);
  t.equal(cc.flags, 0);
  t.equal(cc.payloadType, 0);
  t.ok(cc.createdDate > 1_600_000_000_000, 'CreatedDate is epoch milliseconds');
  const body = decodeChannelClosed(cc.payload);
  t.equal(body.output, '');
  t.equal(body.sessionId, s.sessionId);
  t.equal(body.destinationId, emu.state.options.instances[0]?.instanceId);
  t.match(body.createdDate, /^\d{4}-\d\d-\d\dT/);
  t.equal(client.received.at(-1), cc, 'channel_closed is the last record before the close');
  t.same((await closedEvent)[0], { sessionId: s.sessionId, output: '', delivered: true });

  // A late attach to the ended session gets the same channel_closed (never a bare close).
  const late = await RawClient.connect(s.streamUrl, s.tokenValue);
  const again = await late.waitForChannelClosed();
  t.equal(decodeChannelClosed(again.payload).output, '');
});

t.test('Flag TerminateSession from the client is acked, then channel_closed ""', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await client.handshake();
  client.sendFlag(FlagCode.TerminateSession);
  await client.waitForAck(1);
  const cc = await client.waitForChannelClosed();
  t.equal(decodeChannelClosed(cc.payload).output, '');
  t.equal(emu.state.sessions.get(s.sessionId)?.status, 'terminated');
});

t.test('a dropped socket re-attaches with a new token and unchanged counters', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const first = await RawClient.connect(s.streamUrl, s.tokenValue, { autoAck: false });
  const req = await first.waitForOutputSeq(0);
  first.ack(req);
  await first.handshake();
  const complete = await first.waitForOutputSeq(1);
  // The client never acks HandshakeComplete (seq 1): the agent must resend it after re-attach.
  const detached = once(emu.events, 'client-detached');
  first.drop();
  t.equal(((await detached) as [{ reason: string }])[0].reason, 'closed');
  t.equal(emu.gatewaySession(s.sessionId)?.isAttached, false);

  const token2 = emu.state.issueToken(s.sessionId); // what ResumeSession returns
  const second = await RawClient.connect(s.streamUrl, token2);
  t.teardown(() => second.drop());
  const again = await second.waitForOutputSeq(1);
  t.equal(again.messageId, complete.messageId, 'the same record is retransmitted (same seq and id)');
  t.equal(second.received.filter((m) => m.payloadType === PayloadType.HandshakeRequest).length, 0, 'no new handshake');
  // The client continues its own numbering: seq 1 is the next input.
  second.nextSeq = first.nextSeq;
  second.sendFlag(FlagCode.TerminateSession);
  await second.waitForAck(1);
  t.pass('the agent acks input seq 1 after the re-attach');
});

t.test('websocket pings are answered', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  const pong = once(client.ws, 'pong');
  client.ws.ping(Buffer.from('keepalive'));
  const [data] = (await pong) as [Buffer];
  t.equal(data.toString(), 'keepalive');
});

t.test('a newer attach replaces the older socket', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const a = await RawClient.connect(s.streamUrl, s.tokenValue);
  await a.handshake();
  const b = await RawClient.connect(s.streamUrl, emu.state.issueToken(s.sessionId));
  t.teardown(() => b.drop());
  await once(a, 'closed');
  t.equal(a.closeCode, 1006, 'the old socket is cut (no close frame)');
});

t.test('close() sends channel_closed to attached clients and frees the port', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  await client.handshake();
  const closing = emu.close();
  const cc = await client.waitForChannelClosed();
  t.equal(cc.messageType, MessageType.ChannelClosed);
  await closing;
  await emu.close();
  const sock = connect(emu.port, '127.0.0.1');
  const [err] = (await once(sock, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'ECONNREFUSED');
  t.ok(encodeOpenDataChannel);
});

t.test(
  'the ack of the HandshakeResponse reaches the client before HandshakeComplete, with either pacing (as in every transcript)',
  async (t) => {
    for (const pacing of ['none', 'agent'] as const) {
      const emu = await withEmulator(t, { pacing });
      const s = await startSession(emu);
      const client = await RawClient.connect(s.streamUrl, s.tokenValue);
      await client.handshake('1.2.677.0');
      const order = client.received
        .filter(
          (m) =>
            (m.messageType === 'acknowledge' && m.sequenceNumber === 0) ||
            m.payloadType === PayloadType.HandshakeComplete,
        )
        .map((m) => (m.messageType === 'acknowledge' ? 'ack' : 'HandshakeComplete'));
      t.same(order.slice(0, 2), ['ack', 'HandshakeComplete'], `pacing ${pacing}`);
      client.drop();
    }
  },
);
