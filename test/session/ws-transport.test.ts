import t, { type Test } from 'tap';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkStreamUrl, connectWebSocket } from '../../src/session/ws-transport.js';
import { isLoopbackIp as isLoopbackHost } from '../../src/loopback.js';
import { DataChannel } from '../../src/session/data-channel.js';
import { ReliableLink } from '../../src/session/reliable-link.js';
import { systemClock } from '../../src/clock.js';
import {
  PayloadType,
  decodeClientMessage,
  decodeHandshakeResponse,
  decodeOpenDataChannel,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  sessionTypeAction,
} from '../../src/protocol/ssm/index.js';

t.test('loopback detection and the URL policy', async (t) => {
  for (const h of ['127.0.0.1', '127.255.0.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
    t.ok(isLoopbackHost(h), h);
  for (const h of ['localhost', '10.0.0.1', '128.0.0.1', '::2', 'example.com', '[::ffff:10.0.0.1]'])
    t.notOk(isLoopbackHost(h), h);
  t.equal(checkStreamUrl('wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/x').protocol, 'wss:');
  t.equal(checkStreamUrl('ws://127.0.0.1:9/v1').protocol, 'ws:');
  t.equal(checkStreamUrl('ws://[::1]:9/v1').protocol, 'ws:');
  t.throws(() => checkStreamUrl('ws://example.com/v1'), { code: 'ERR_SESSION_INSECURE_URL' });
  t.throws(() => checkStreamUrl('ws://localhost:9/v1'), { code: 'ERR_SESSION_INSECURE_URL' });
  t.throws(() => checkStreamUrl('http://127.0.0.1/'), { code: 'ERR_SESSION_INSECURE_URL' });
  t.throws(() => checkStreamUrl('not a url'), { code: 'ERR_SESSION_INSECURE_URL' });
  t.equal(checkStreamUrl('ws://example.com/v1', true).protocol, 'ws:', 'allowInsecure');
  await t.rejects(connectWebSocket('ws://example.com/v1'), { code: 'ERR_SESSION_INSECURE_URL' });
});

async function server(
  t: Test,
): Promise<{ wss: WebSocketServer; url: string; headers: Promise<Record<string, string | string[] | undefined>> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
  const port = (wss.address() as AddressInfo).port;
  const headers = new Promise<Record<string, string | string[] | undefined>>((resolve) =>
    wss.once('connection', (_ws, req) => resolve(req.headers)),
  );
  return { wss, url: `ws://127.0.0.1:${port}/v1/data-channel/s-1?role=publish_subscribe`, headers };
}

t.test(
  'a real loopback socket: text then binary, keepalive ping answered, no permessage-deflate, close without a close frame',
  async (t) => {
    const { wss, url, headers } = await server(t);
    const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
    const tr = await connectWebSocket(url);
    const ws = await serverSide;
    const h = await headers;
    t.equal(h['sec-websocket-extensions'], undefined, 'no extensions offered');
    t.equal(h['authorization'], undefined, 'no token in the upgrade');
    const got: { data: Buffer; isBinary: boolean }[] = [];
    const two = new Promise<void>((resolve) =>
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        got.push({ data, isBinary });
        if (got.length === 2) resolve();
      }),
    );
    const pinged = new Promise<Buffer>((resolve) => ws.once('ping', (d: Buffer) => resolve(d)));
    tr.sendText('{"hello":1}');
    tr.sendBinary(Buffer.from([1, 2, 3]));
    tr.ping();
    await two;
    t.same(
      got.map((g) => [g.data.toString('hex'), g.isBinary]),
      [
        [Buffer.from('{"hello":1}').toString('hex'), false],
        ['010203', true],
      ],
    );
    t.equal((await pinged).toString(), 'keepalive');
    await once(tr, 'pong');
    const fromServer = once(tr, 'message');
    ws.send(Buffer.from([9, 9]));
    const [data, isBinary] = (await fromServer) as [Buffer, boolean];
    t.equal(data.toString('hex'), '0909');
    t.equal(isBinary, true);
    t.equal(tr.bufferedAmount, 0);
    const serverClosed = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)));
    tr.close();
    t.equal(await serverClosed, 1006, 'abnormal closure: no close frame was sent');
  },
);

t.test('connect failures are ERR_SESSION_CONNECT_FAILED', async (t) => {
  const { wss, url } = await server(t);
  const port = (wss.address() as AddressInfo).port;
  await new Promise<void>((r) => wss.close(() => r()));
  await t.rejects(connectWebSocket(url), { code: 'ERR_SESSION_CONNECT_FAILED' });
  t.ok(port > 0);
});

t.test('end to end over a real loopback websocket: DataChannel (client) against a ReliableLink agent', async (t) => {
  const { wss, url } = await server(t);
  // A minimal agent: ReliableLink in the agent role, answering the handshake and echoing Output.
  wss.on('connection', (ws) => {
    let opened = false;
    const link: ReliableLink = new ReliableLink({
      role: 'agent',
      clock: systemClock,
      maxResends: Infinity,
      sendFrame: (f) => ws.send(f),
      deliver: (m) => {
        if (m.payloadType === PayloadType.HandshakeResponse) {
          const r = decodeHandshakeResponse(m.payload);
          if (r.clientVersion === '1.2.677.0')
            link.send(
              PayloadType.HandshakeComplete,
              encodeHandshakeComplete({ handshakeTimeToCompleteNs: 1000, customerMessage: '' }),
            );
        } else if (m.payloadType === PayloadType.Output) {
          link.send(PayloadType.Output, Buffer.from(m.payload.toString().toUpperCase()));
        }
        return true;
      },
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        t.equal(decodeOpenDataChannel(data).tokenValue, 'TOK', 'agent sees the token in the text frame');
        if (!opened) {
          opened = true;
          link.send(
            PayloadType.HandshakeRequest,
            encodeHandshakeRequest({
              agentVersion: '3.3.1142.0',
              requestedClientActions: [
                sessionTypeAction({
                  sessionType: 'Port',
                  properties: { type: 'LocalPortForwarding', portNumber: '80' },
                }),
              ],
            }),
          );
        }
        return;
      }
      link.handleMessage(decodeClientMessage(data));
    });
    ws.on('close', () => link.close());
  });
  const ch = new DataChannel({
    streamUrl: url,
    tokenValue: 'TOK',
    sessionId: 's-1',
    targetId: 'i-1',
    resume: async () => undefined,
  });
  t.teardown(() => ch.close());
  const hs = await ch.open();
  t.equal(hs.portMode, 'mux');
  const echoed = once(ch, 'data');
  t.ok(ch.sendData(Buffer.from('hello over ws')));
  const [b] = (await echoed) as [Buffer];
  t.equal(b.toString(), 'HELLO OVER WS');
  // Everything we sent gets acked by the agent.
  while (ch.link.unackedCount > 0) await once(ch.link, 'ack');
  t.equal(ch.link.unackedCount, 0);
});

t.test('a refused StreamUrl fails the open at once with ERR_SESSION_INSECURE_URL, without retries', async (t) => {
  const { FakeClock } = await import('../helpers/fake-clock.js');
  const clock = new FakeClock();
  const ch = new DataChannel({
    streamUrl: 'ws://example.com/v1/data-channel/s-1?role=publish_subscribe',
    tokenValue: 'token',
    sessionId: 's-1',
    targetId: 'i-0123456789abcdef0',
    clock,
    resume: async () => undefined,
  });
  // The fake clock never advances: a retry (which waits on it) would leave this pending.
  await t.rejects(ch.open(), { code: 'ERR_SESSION_INSECURE_URL' });
  ch.close();
});

t.test('a frame above maxPayload is refused by the client websocket', async (t) => {
  const { wss, url } = await server(t);
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
  const tr = await connectWebSocket(url);
  const ws = await serverSide;
  const closed = new Promise<void>((resolve) => tr.once('close', () => resolve()));
  const errored = new Promise<Error & { code?: string }>((resolve) => tr.once('error', resolve));
  ws.send(Buffer.alloc(4 * 1024 * 1024 + 1));
  const err = await errored;
  t.equal(err.code, 'ERR_SESSION_MESSAGE_TOO_LARGE', 'a typed error naming the size limit');
  t.equal((err.cause as { code?: string } | undefined)?.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'ws error as cause');
  t.equal(tr.error, err, 'kept on the transport');
  await closed;
  t.pass('the socket is closed');
});
