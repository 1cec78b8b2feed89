/**
 * Dead peer (issue #8): the gateway stops answering without closing the connection. The stream
 * URLs are routed through a TCP proxy that can freeze (stop moving bytes both ways, keep both
 * sockets open: no FIN, no RST, no pong), and the engine runs on a FakeClock, so 30 s of silence
 * take no real time. Requirement: detected within 30 s (the session is then resumed on a new
 * websocket and the forward keeps working). The default production wiring is what is tested.
 */
import t from 'tap';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { SsmApi } from '../../src/aws/ssm-api.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { exchange, startRig, type Teardown } from '../helpers/exchange-rig.js';

/** A TCP proxy to `targetPort`; `freeze()` stops relaying on every current pair without closing. */
async function startFreezableProxy(
  t: Teardown,
  targetPort: number,
): Promise<{ port: number; freeze(): void; pairs: number }> {
  const pairs = new Set<[Socket, Socket]>();
  const state = { frozen: new Set<Socket>() };
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    for (const s of pair) s.on('error', () => undefined);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const done = (): void => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', done);
    outbound.on('close', done);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    port: address.port,
    get pairs() {
      return pairs.size;
    },
    freeze(): void {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
        state.frozen.add(a);
      }
    },
  };
}

t.test(
  'a gateway that stops answering without closing is detected within 30 s, and the forward recovers',
  async (t) => {
    const clock = new FakeClock(Date.now());
    let proxyPort = 0;
    const viaProxy = (url: string): string => url.replace(/^ws:\/\/127\.0\.0\.1:\d+/, `ws://127.0.0.1:${proxyPort}`);
    const wrapApi = (api: SsmApi): SsmApi => ({
      ...api,
      startSession: async (i) => {
        const g = await api.startSession(i);
        return { ...g, streamUrl: viaProxy(g.streamUrl) };
      },
      resumeSession: async (id) => {
        const g = await api.resumeSession(id);
        return g === undefined ? undefined : { ...g, streamUrl: viaProxy(g.streamUrl) };
      },
    });
    // The proxy needs the emulator's port and the rig starts the emulator: a lazy forward makes
    // no StartSession before the first connection, by which time the proxy is up.
    const rig = await startRig(t, { bytes: 64 * 1024, wrapApi, manager: { clock }, spec: { lazy: true } });
    const proxy = await startFreezableProxy(t, rig.emu.port);
    proxyPort = proxy.port;

    const first = await exchange(rig.port, 64 * 1024);
    t.ok(first.clean && first.receivedBytes === 64 * 1024, 'traffic flows through the proxy');
    t.equal(proxy.pairs, 1, 'one data-channel websocket through the proxy');
    const sessionId = rig.forward.status().sessions[0]?.sessionId;

    proxy.freeze();
    // Advance fake time in 1 s steps, letting real I/O run between steps; stop at detection.
    const detected = (): boolean =>
      rig.events.some(
        (e) => e.type === 'session-reconnecting' || (e.type === 'session-ended' && e['sessionId'] === sessionId),
      );
    let waitedMs = 0;
    for (; waitedMs < 120_000 && !detected(); waitedMs += 1000) {
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    t.ok(detected(), `the dead peer was detected (after ${waitedMs / 1000} s of silence)`);
    t.ok(waitedMs <= 30_000, `detected within 30 s (took ${waitedMs / 1000} s)`);

    // Recovery: a new websocket (the proxy relays new connections) resumes the session, or a fresh
    // one replaces it; the engine's retry delays run on the fake clock, so keep it moving.
    const mark = rig.events.length;
    const recovered = (): boolean =>
      rig.events.slice(mark).some((e) => e.type === 'session-resumed' || e.type === 'session-started') ||
      rig.events.some((e, i) => i >= mark - 1 && e.type === 'session-resumed');
    for (let i = 0; i < 2000 && !recovered(); i++) {
      clock.advance(100);
      await new Promise((r) => setTimeout(r, 1));
    }
    t.ok(recovered(), 'the session was resumed (or replaced) on a new websocket');
    const again = await exchange(rig.port, 64 * 1024);
    t.ok(again.clean && again.receivedBytes === 64 * 1024, 'a new connection works after the dead peer was replaced');
    // stop() bounds itself with timers on the injected clock: keep it moving until it resolves.
    let stopped = false;
    const stopping = rig.manager.stop().then(() => (stopped = true));
    for (let i = 0; i < 1000 && !stopped; i++) {
      clock.advance(100);
      await new Promise((r) => setTimeout(r, 1));
    }
    await stopping;
  },
);
