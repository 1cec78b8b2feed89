/** The session pool's policy (pure): bounds, how many sessions to start, the StartSession rate limit. */
import t from 'tap';
import {
  acceptsMore,
  CONNECTIONS_PER_SESSION,
  poolBounds,
  sessionsToStart,
  StartRateLimiter,
  type PoolSnapshot,
} from '../../src/tunnel/pool-policy.js';

const snap = (o: Partial<PoolSnapshot>): PoolSnapshot => ({
  live: 1,
  starting: 0,
  available: 1,
  pending: 0,
  active: 0,
  basic: false,
  idle: false,
  ...o,
});

t.test('bounds: auto (default) is 1..4 and adaptive; N is fixed; {min,max} bounds the automatic pool', async (t) => {
  t.same(poolBounds(undefined), { min: 1, max: 4, adaptive: true });
  t.same(poolBounds('auto'), { min: 1, max: 4, adaptive: true });
  t.same(poolBounds(3), { min: 3, max: 3, adaptive: false });
  t.same(poolBounds({ min: 2, max: 8 }), { min: 2, max: 8, adaptive: true });
  t.same(poolBounds({ min: 2, max: 2 }), { min: 2, max: 2, adaptive: false });
});

t.test('mux: the floor, one session per 4 connections, never above max', async (t) => {
  const auto = poolBounds('auto');
  t.equal(sessionsToStart(auto, snap({ live: 0, available: 0 }), 64), 1, 'the floor');
  t.equal(sessionsToStart(auto, snap({ active: 4 }), 64), 0, '4 connections fit one session');
  t.equal(sessionsToStart(auto, snap({ active: 4, pending: 1 }), 64), 1, 'the fifth asks for a second');
  t.equal(sessionsToStart(auto, snap({ active: 0, pending: 16, live: 1 }), 64), 3, '16 connections: 4 sessions');
  t.equal(sessionsToStart(auto, snap({ active: 100, live: 4, available: 4 }), 64), 0, 'never above max');
  t.equal(sessionsToStart(auto, snap({ active: 1, available: 0 }), 64), 1, 'every session stalled: one more');
  t.equal(sessionsToStart(auto, snap({ active: 1, available: 0, starting: 1 }), 64), 0, '…once');
  t.equal(sessionsToStart(poolBounds(1), snap({ active: 50, available: 0 }), 64), 0, 'a fixed pool never grows');
  t.equal(sessionsToStart(auto, snap({ live: 0, available: 0, idle: true }), 64), 0, 'lazy and idle: none');
});

t.test('basic: one session per waiting connection, within max (auto) or maxBasic (fixed)', async (t) => {
  const b = snap({ basic: true, available: 0 });
  t.equal(sessionsToStart(poolBounds('auto'), { ...b, pending: 6 }, 64), 3, 'auto: up to 4 in all');
  t.equal(sessionsToStart(poolBounds(1), { ...b, pending: 6 }, 64), 6, 'fixed: up to maxBasic');
  t.equal(sessionsToStart(poolBounds(1), { ...b, pending: 6 }, 3), 2);
});

t.test('acceptsMore: a growing adaptive pool keeps sessions to 4 connections each', async (t) => {
  t.ok(acceptsMore(poolBounds('auto'), CONNECTIONS_PER_SESSION - 1, true));
  t.notOk(acceptsMore(poolBounds('auto'), CONNECTIONS_PER_SESSION, true));
  t.ok(acceptsMore(poolBounds('auto'), CONNECTIONS_PER_SESSION, false), 'nothing starting: take it');
  t.ok(acceptsMore(poolBounds(1), 100, true), 'fixed pools: least loaded, always');
});

t.test('StartSession rate limit: a burst, then one per interval', async (t) => {
  const l = new StartRateLimiter(0, 2, 1000);
  t.ok(l.take(0));
  t.ok(l.take(0));
  t.notOk(l.take(0));
  t.equal(l.msUntilNext(0), 1000);
  t.notOk(l.take(999));
  t.ok(l.take(1000));
  t.notOk(l.take(1500));
  t.ok(l.take(5000));
  t.ok(l.take(5000), 'refilled to the burst, not beyond');
  t.notOk(l.take(5000));
});
