import t from 'tap';
import { RttEstimator } from '../../src/session/rtt-estimator.js';

t.test('initial values: SRTT 100, RTTVAR 0, RTO 200', async (t) => {
  const r = new RttEstimator();
  t.equal(r.srttMs, 100);
  t.equal(r.rttVariationMs, 0);
  t.equal(r.rtoMs, 200);
});

t.test('the documented example: a first sample of 50 ms', async (t) => {
  const r = new RttEstimator();
  r.update(50);
  t.equal(r.rttVariationMs, 12.5);
  t.equal(r.srttMs, 93.75);
  t.equal(r.rtoMs, 143.75);
});

t.test('RTO is capped at 1000 ms and floored by the 10 ms granularity term', async (t) => {
  const slow = new RttEstimator();
  slow.update(5000);
  t.equal(slow.rtoMs, 1000);
  const steady = new RttEstimator();
  for (let i = 0; i < 200; i++) steady.update(100);
  t.ok(Math.abs(steady.srttMs - 100) < 1e-9);
  t.ok(steady.rttVariationMs < 1e-9);
  t.ok(Math.abs(steady.rtoMs - 110) < 1e-9, 'SRTT + max(10, 4·RTTVAR)');
  const neg = new RttEstimator();
  neg.update(-5);
  t.equal(neg.srttMs, 87.5, 'negative samples count as 0');
});

t.test('reconnect policy: 6 calls at most, d in [100, 199], doubling, reset above 5 s', async (t) => {
  const { ReconnectPolicy } = await import('../../src/session/reconnect-policy.js');
  const { FakeClock } = await import('../helpers/fake-clock.js');
  t.same(new ReconnectPolicy(new FakeClock(), () => 0).plannedDelaysMs(), [100, 200, 400, 800, 1600]);
  t.same(new ReconnectPolicy(new FakeClock(), () => 0.999).plannedDelaysMs(), [199, 398, 796, 1592, 3184]);
  t.same(
    new ReconnectPolicy(new FakeClock(), () => 0, {
      maxRetries: 7,
      initialDelayMs: 1000,
      jitterMs: 0,
    }).plannedDelaysMs(),
    [1000, 2000, 4000, 1000, 2000, 4000, 1000],
  );
  const clock = new FakeClock();
  const p = new ReconnectPolicy(clock, () => 0, { maxRetries: 1 });
  let done: boolean | undefined;
  void p.wait().then((v) => (done = v));
  await Promise.resolve();
  t.equal(done, undefined, 'waits on the clock');
  clock.advance(100);
  await new Promise((r) => setImmediate(r));
  t.equal(done, true);
  t.equal(await p.wait(), false, 'no retries left');
  t.equal(p.retries, 1);
});
