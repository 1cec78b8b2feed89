import t from 'tap';
import { Keepalive } from '../../src/session/keepalive.js';
import { FakeClock } from '../helpers/fake-clock.js';

function rig(): { clock: FakeClock; pings: number[]; dead: number[]; ka: Keepalive } {
  const clock = new FakeClock();
  const pings: number[] = [];
  const dead: number[] = [];
  const ka = new Keepalive(
    clock,
    { pingIntervalMs: 10_000, deadPeerTimeoutMs: 25_000 },
    () => pings.push(clock.now()),
    (ms) => dead.push(ms),
  );
  return { clock, pings, dead, ka };
}

t.test('pings at once, then every interval', async (t) => {
  const { clock, pings, ka } = rig();
  ka.start();
  t.same(pings, [0]);
  clock.advance(10_000);
  ka.heard();
  clock.advance(10_000);
  t.same(pings, [0, 10_000, 20_000]);
  ka.stop();
});

t.test('a silent peer is declared dead after the timeout, once', async (t) => {
  const { clock, dead, ka } = rig();
  ka.start();
  clock.advance(24_999);
  t.same(dead, []);
  clock.advance(1);
  t.same(dead, [25_000]);
  clock.advance(60_000);
  t.same(dead, [25_000], 'no second report, no more timers');
  t.equal(clock.pending, 0);
});

t.test('anything heard postpones the verdict', async (t) => {
  const { clock, dead, ka } = rig();
  ka.start();
  clock.advance(20_000);
  ka.heard();
  clock.advance(20_000);
  t.same(dead, [], 'heard 20 s ago');
  clock.advance(5_000);
  t.same(dead, [25_000]);
});

t.test('stop() clears every timer', async (t) => {
  const { clock, pings, dead, ka } = rig();
  ka.start();
  ka.stop();
  t.equal(clock.pending, 0);
  clock.advance(100_000);
  t.same(pings, [0]);
  t.same(dead, []);
});
