import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { FlagCode, MessageType, PayloadType } from '../../../src/protocol/ssm/message-type.js';
import { decodeChannelClosed, decodeFlag } from '../../../src/protocol/ssm/payloads.js';
import { demoBytes, startDemoServices } from '../../../src/emulator/demo-services.js';
import { withEmulator, startSession } from '../../helpers/emulator.js';
import { RawClient } from '../../helpers/raw-client.js';
import { muxOverRawClient } from '../../helpers/mux-client.js';
import type { MuxStream } from '../../../src/mux/mux-stream.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function collect(stream: MuxStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(parts)));
    stream.once('error', reject);
  });
}

async function demoEmulator(t: Test, pacing: 'agent' | 'none' = 'none') {
  const demo = await startDemoServices();
  t.teardown(() => demo.close());
  const emu = await withEmulator(t, { pacing, destinations: demo.destinations });
  return { demo, emu };
}

t.test('mux: streams reach the mapped destination; Output payloads are at most 1024 bytes', async (t) => {
  const { emu } = await demoEmulator(t);
  const s = await startSession(emu, { parameters: { portNumber: ['7'] } });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await client.handshake();
  const mux = muxOverRawClient(client);
  t.teardown(() => mux.close());

  const echo = mux.openStream();
  const echoed = new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    echo.on('data', (c: Buffer) => {
      parts.push(c);
      if (Buffer.concat(parts).length >= 5000) resolve(Buffer.concat(parts));
    });
  });
  const payload = demoBytes(3, 5000);
  echo.write(payload);
  t.ok((await echoed).equals(payload), 'echo through the agent');
  t.equal(echo.id, 3, 'client stream ids start at 3');

  // A second, concurrent stream; its client FIN makes the agent close the destination fully and
  // FIN back, while the first stream stays open.
  const second = mux.openStream();
  const parts: Buffer[] = [];
  second.on('data', (c: Buffer) => parts.push(c));
  const secondEnded = once(second, 'end');
  second.write('second stream');
  while (Buffer.concat(parts).length < 13) await once(second, 'data');
  t.equal(emu.gatewaySession(s.sessionId)?.agent.connectionCount, 2, 'two destination connections');
  second.end();
  await secondEnded;
  t.equal(Buffer.concat(parts).toString(), 'second stream');
  t.equal(emu.gatewaySession(s.sessionId)?.agent.connectionCount, 1, 'the FIN closed only its own destination');

  const outputs = client.received.filter(
    (m) => m.messageType === MessageType.OutputStreamData && m.payloadType === PayloadType.Output,
  );
  t.ok(outputs.length >= 5);
  t.ok(
    outputs.every((m) => m.payload.length <= 1024),
    'every Output payload ≤ 1024 bytes',
  );
});

t.test('mux: a large HTTP download arrives intact', async (t) => {
  const { emu } = await demoEmulator(t);
  const s = await startSession(emu, { parameters: { portNumber: ['80'] } });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await client.handshake();
  const mux = muxOverRawClient(client);
  t.teardown(() => mux.close());
  const stream = mux.openStream();
  const body = collect(stream);
  stream.write('GET /bytes/300000 HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n');
  const res = await body;
  const split = res.indexOf('\r\n\r\n');
  t.match(res.subarray(0, split).toString(), /^HTTP\/1\.1 200 OK/);
  const content = res.subarray(split + 4);
  t.equal(content.length, 300000);
  t.equal(
    createHash('sha256').update(content).digest('hex'),
    createHash('sha256').update(demoBytes(0, 300000)).digest('hex'),
  );
});

t.test('mux: a failed dial sends Flag ConnectToPortError, then the stream FIN; the session stays up', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const port = await freePort();
  const s = await startSession(emu, { parameters: { portNumber: [String(port)] } });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await client.handshake();
  const dial = once(emu.events, 'dial');
  const mux = muxOverRawClient(client);
  t.teardown(() => mux.close());
  const stream = mux.openStream();
  const ended = collect(stream);
  stream.write('GET 100 ce\n');
  const flag = await client.waitFor(
    (m) => m.messageType === MessageType.OutputStreamData && m.payloadType === PayloadType.Flag,
  );
  t.equal(decodeFlag(flag.payload), FlagCode.ConnectToPortError);
  t.equal(flag.flags, 0);
  t.equal(flag.sequenceNumber, 2, 'right after HandshakeComplete, as in the fixture');
  const data = await ended;
  t.equal(data.length, 0, 'no data, just FIN');
  const fin = client.received.find(
    (m) => m.payloadType === PayloadType.Output && m.sequenceNumber > flag.sequenceNumber,
  );
  t.ok(fin, 'the FIN comes in a later Output message');
  t.same(fin?.payload, Buffer.from([1, 1, 0, 0, 3, 0, 0, 0]), 'smux v1 FIN for stream 3');
  const [d] = (await dial) as [{ ok: boolean; error?: string }];
  t.equal(d.ok, false);
  t.equal(d.error, `dial tcp 127.0.0.1:${port}: connect: connection refused`);
  t.equal(emu.state.sessions.get(s.sessionId)?.status, 'connected', 'the session continues');
});

t.test('remote host in the deny list: handshake completes, then channel_closed with the agent text', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu, {
    documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
    parameters: { host: ['169.254.169.254'], portNumber: ['80'] },
  });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  const { properties } = await client.handshake();
  t.equal(properties['host'], '169.254.169.254');
  const cc = await client.waitForChannelClosed();
  t.equal(decodeChannelClosed(cc.payload).output, 'Forwarding to IP address 169.254.169.254 is forbidden.');
  const seqs = client.received.filter((m) => m.messageType === MessageType.OutputStreamData).map((m) => m.payloadType);
  t.same(
    seqs,
    [PayloadType.HandshakeRequest, PayloadType.HandshakeComplete],
    'nothing else was sent on the data channel',
  );
});

t.test('remote host names are resolved once; a mapping puts a service behind a made-up host', async (t) => {
  const demo = await startDemoServices();
  t.teardown(() => demo.close());
  const resolved: string[] = [];
  const emu = await withEmulator(
    t,
    { pacing: 'none', destinations: [{ host: 'db.internal', port: 5432, to: demo.echo }] },
    {
      resolve: async (h) => {
        resolved.push(h);
        return h === 'imds.example' ? ['169.254.169.254'] : Promise.reject(new Error('ENOTFOUND'));
      },
    },
  );
  const mapped = await startSession(emu, {
    documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
    parameters: { host: ['db.internal'], portNumber: ['5432'] },
  });
  const c1 = await RawClient.connect(mapped.streamUrl, mapped.tokenValue);
  t.teardown(() => c1.drop());
  await c1.handshake();
  const mux = muxOverRawClient(c1);
  t.teardown(() => mux.close());
  const st = mux.openStream();
  st.write('to the mapped host');
  const [chunk] = (await once(st, 'data')) as [Buffer];
  t.equal(chunk.toString(), 'to the mapped host');

  const denied = await startSession(emu, {
    documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
    parameters: { host: ['imds.example'], portNumber: ['80'] },
  });
  const c2 = await RawClient.connect(denied.streamUrl, denied.tokenValue);
  await c2.handshake();
  t.equal(
    decodeChannelClosed((await c2.waitForChannelClosed()).payload).output,
    'Forwarding to IP address imds.example is forbidden.',
  );

  const unknown = await startSession(emu, {
    documentName: 'AWS-StartPortForwardingSessionToRemoteHost',
    parameters: { host: ['nx.example'], portNumber: ['80'] },
  });
  const c3 = await RawClient.connect(unknown.streamUrl, unknown.tokenValue);
  await c3.handshake();
  t.equal(decodeChannelClosed((await c3.waitForChannelClosed()).payload).output, 'lookup nx.example: no such host');
  t.same(resolved, ['imds.example', 'nx.example'], 'the mapped host needed no DNS');
});

t.test('basic mode: dial at start, echo, DisconnectToPort closes, the next Output re-dials', async (t) => {
  const { emu } = await demoEmulator(t);
  const s = await startSession(emu, { parameters: { portNumber: ['7'] } });
  const dials: unknown[] = [];
  emu.events.on('dial', (d) => dials.push(d));
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.1.61.0' });
  t.teardown(() => client.drop());
  await client.handshake('1.1.61.0');
  client.sendOutput(Buffer.from('basic hello'));
  t.equal((await client.readOutput(11)).toString(), 'basic hello');
  t.equal(dials.length, 1);

  client.sendFlag(FlagCode.DisconnectToPort);
  await client.waitForAck(2);
  client.sendOutput(Buffer.from('again'));
  t.equal((await client.readOutput(16)).subarray(11).toString(), 'again');
  t.equal(dials.length, 2, 're-dialed for the next connection');
  const flags = client.received.filter((m) => m.payloadType === PayloadType.Flag);
  t.same(flags, [], 'the agent never sends a Flag in basic mode');
});

t.test('basic mode: a failed dial ends the session with "Unable to connect to specified port: …"', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const port = await freePort();
  const s = await startSession(emu, { parameters: { portNumber: [String(port)] } });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.1.61.0' });
  await client.handshake('1.1.61.0');
  const cc = await client.waitForChannelClosed();
  t.equal(
    decodeChannelClosed(cc.payload).output,
    `Unable to connect to specified port: dial tcp 127.0.0.1:${port}: connect: connection refused`,
  );
});

t.test('basic mode: destination EOF is not told to the client; its next Output re-dials', async (t) => {
  let connections = 0;
  const server = createServer((sock) => {
    connections += 1;
    sock.on('error', () => sock.destroy());
    sock.once('data', (d: Buffer) => sock.end(`#${connections}:${d.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu, { parameters: { portNumber: [String((server.address() as AddressInfo).port)] } });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue, { clientVersion: '1.1.61.0' });
  t.teardown(() => client.drop());
  await client.handshake('1.1.61.0');
  client.sendOutput(Buffer.from('a'));
  t.equal((await client.readOutput(4)).toString(), '#1:a');
  const dial = once(emu.events, 'dial');
  client.sendOutput(Buffer.from('b'));
  await dial;
  t.equal((await client.readOutput(8)).subarray(4).toString(), '#2:b');
  t.equal(client.received.filter((m) => m.messageType === MessageType.ChannelClosed).length, 0);
});
