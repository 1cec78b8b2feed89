import t from 'tap';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { demoBytes } from '../../../src/emulator/demo-services.js';
import { withEmulator, startSession } from '../../helpers/emulator.js';
import { RawClient } from '../../helpers/raw-client.js';
import { muxOverRawClient } from '../../helpers/mux-client.js';

t.test('a destination that does not read makes the gateway stop reading the client; nothing is lost', async (t) => {
  const conns: Socket[] = [];
  const server = createServer((sock) => {
    sock.pause(); // a slow consumer: reads nothing until told
    sock.on('error', () => sock.destroy());
    conns.push(sock);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const c of conns) c.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const emu = await withEmulator(t, { pacing: 'none' });
  const s = await startSession(emu, { parameters: { portNumber: [String((server.address() as AddressInfo).port)] } });
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  t.teardown(() => client.drop());
  await client.handshake();
  const agent = emu.gatewaySession(s.sessionId)?.agent;
  if (!agent) throw new Error('no agent');
  const paused = once(agent.channel, 'receiving-paused');
  const mux = muxOverRawClient(client);
  t.teardown(() => mux.close());
  const stream = mux.openStream();
  const total = 24 * 1024 * 1024;
  const data = demoBytes(5, total);
  stream.write(data);
  await paused;
  t.ok(
    agent.inboundBufferedBytes <= 4 * 1024 * 1024 + 1024 * 1024,
    `bounded inside the agent: ${agent.inboundBufferedBytes} bytes`,
  );

  // Let the destination read: everything arrives, in order, and reading resumes.
  while (conns.length === 0) await once(server, 'connection');
  const dest = conns[0] as Socket;
  const hash = createHash('sha256');
  let got = 0;
  const done = new Promise<void>((resolve) => {
    dest.on('data', (c: Buffer) => {
      hash.update(c);
      got += c.length;
      if (got >= total) resolve();
    });
  });
  const resumed = once(agent.channel, 'receiving-resumed');
  dest.resume();
  await resumed;
  await done;
  t.equal(got, total);
  t.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
});
