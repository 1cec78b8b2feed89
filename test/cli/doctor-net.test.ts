/**
 * The endpoint probes of `tunnel doctor` on real loopback sockets: through an HTTP CONNECT proxy
 * (request line, Proxy-Authorization, refusal), TLS to a server whose certificate is not trusted,
 * the `Date` probe, and which hosts bypass the proxy.
 */
import t from 'tap';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { netSettings, proxyFor } from '../../src/cli/doctor/net-settings.js';
import { isPrivateAddress, probeDate, probeEndpoint } from '../../src/cli/doctor/net-probe.js';
import { startLoopbackServer } from '../helpers/loopback.js';

/** A CONNECT proxy that records request heads and answers `status`; on 200 it relays to `upstream`. */
async function connectProxy(t: Parameters<typeof startLoopbackServer>[0], status: number, reply = '') {
  const heads: string[] = [];
  const srv = await startLoopbackServer(t, (s: Socket) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      heads.push(buf.slice(0, end));
      s.write(
        `HTTP/1.1 ${status} ${status === 200 ? 'Connection established' : 'Proxy Authentication Required'}\r\n\r\n`,
      );
      if (status === 200) s.write(reply);
      else s.end();
    };
    s.on('data', onData);
  });
  return { port: srv.port, heads };
}

t.test('endpoints go through HTTP CONNECT when a proxy applies, with Basic proxy auth', async (t) => {
  const proxy = await connectProxy(t, 200);
  const settings = netSettings({ HTTPS_PROXY: `http://bob:s3cret@127.0.0.1:${proxy.port}` });
  const via = settings.httpsProxy?.url;
  t.equal(settings.httpsProxy?.display, `http://127.0.0.1:${proxy.port}`, 'no password in the display form');
  const r = await probeEndpoint('ssm.eu-west-1.amazonaws.com', 443, false, via, new AbortController().signal);
  t.match(r, { resolve: { ok: true }, connect: { ok: true }, addresses: [] });
  t.match(proxy.heads[0], /^CONNECT ssm\.eu-west-1\.amazonaws\.com:443 HTTP\/1\.1\r\n/);
  t.match(proxy.heads[0], `Proxy-Authorization: Basic ${Buffer.from('bob:s3cret').toString('base64')}`);
});

t.test('a proxy that refuses CONNECT fails the connect step with its status line', async (t) => {
  const proxy = await connectProxy(t, 407);
  const via = new URL(`http://127.0.0.1:${proxy.port}`);
  const r = await probeEndpoint('ssmmessages.eu-west-1.amazonaws.com', 443, true, via, new AbortController().signal);
  t.equal(r.connect?.ok, false);
  t.match(r.connect?.error, 'the proxy refused CONNECT ssmmessages.eu-west-1.amazonaws.com:443: HTTP/1.1 407');
  t.equal(r.tls, undefined);
});

t.test('NO_PROXY, loopback and a missing proxy bypass it', async (t) => {
  const s = netSettings({ https_proxy: 'proxy.corp:8080', NO_PROXY: '.internal,ssm.us-east-1.amazonaws.com' });
  t.equal(s.httpsProxy?.display, 'http://proxy.corp:8080', 'a bare host:port is taken as http');
  t.equal(proxyFor(s, 'ssm.us-east-1.amazonaws.com'), undefined);
  t.equal(proxyFor(s, 'db.internal'), undefined);
  t.equal(proxyFor(s, '127.0.0.1'), undefined);
  t.equal(proxyFor(s, 'ssmmessages.us-east-1.amazonaws.com')?.host, 'proxy.corp:8080');
  t.equal(proxyFor(netSettings({}), 'ssm.us-east-1.amazonaws.com'), undefined);
  t.equal(netSettings({ HTTPS_PROXY: 'socks5://x:1' }).httpsProxy?.url, undefined, 'only http(s) proxies');
  t.ok(isPrivateAddress('10.1.2.3') && isPrivateAddress('172.31.0.2') && isPrivateAddress('fd00::1'));
  t.notOk(isPrivateAddress('52.94.1.1') || isPrivateAddress('172.32.0.1'));
});

t.test('TLS to a server with an untrusted certificate fails the TLS step', async (t) => {
  // A throwaway self-signed certificate (test fixture, trusted by nothing), valid for 100 years.
  const key = readFileSync(new URL('fixtures/untrusted-key.pem', import.meta.url));
  const cert = readFileSync(new URL('fixtures/untrusted-cert.pem', import.meta.url));
  const server = createTlsServer({ key, cert }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const r = await probeEndpoint('127.0.0.1', port, true, undefined, new AbortController().signal);
  t.match(r, { resolve: { ok: true }, connect: { ok: true }, tls: { ok: false } });
  t.match(r.tls?.error, /self.signed certificate/i);
});

t.test('probeDate reads the Date header of an unsigned request', async (t) => {
  const srv = await startLoopbackServer(t, (s) => {
    s.once('data', () =>
      s.end('HTTP/1.1 400 Bad Request\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: 0\r\n\r\n'),
    );
  });
  const p = await probeDate(
    new URL(`http://127.0.0.1:${srv.port}`),
    undefined,
    () => 1_000,
    new AbortController().signal,
  );
  t.equal(p?.serverMs, Date.parse('2026-12-01T10:00:00Z'));
  t.equal(p?.localMs, 1_000);
  t.match(p?.status, 'HTTP/1.1 400');
});
