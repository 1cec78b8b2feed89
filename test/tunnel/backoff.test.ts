import t from 'tap';
import { backoffDelay, seededRandom, DEFAULT_BACKOFF } from '../../src/tunnel/backoff.js';

t.test('delays double from the initial value and stop at the cap', async (t) => {
  const p = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };
  const zero = (): number => 0;
  t.same(
    [0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, zero)),
    [100, 200, 400, 800, 1000, 1000],
  );
});

t.test('jitter keeps each delay within [base*(1-j), base]', async (t) => {
  const p = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };
  t.equal(
    backoffDelay(0, p, () => 0),
    500,
  );
  t.equal(
    backoffDelay(0, p, () => 0.999999),
    1000,
  );
  const rnd = seededRandom(42);
  for (let a = 0; a < 8; a++) {
    const base = Math.min(p.maxMs, 1000 * 2 ** a);
    const d = backoffDelay(a, p, rnd);
    t.ok(d >= base / 2 && d <= base, `attempt ${a}: ${d} in [${base / 2}, ${base}]`);
  }
});

t.test('a seeded source gives the same schedule twice, and different seeds differ', async (t) => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const c = seededRandom(8);
  const sa = [0, 1, 2, 3].map((n) => backoffDelay(n, DEFAULT_BACKOFF, a));
  const sb = [0, 1, 2, 3].map((n) => backoffDelay(n, DEFAULT_BACKOFF, b));
  const sc = [0, 1, 2, 3].map((n) => backoffDelay(n, DEFAULT_BACKOFF, c));
  t.same(sa, sb);
  t.not(JSON.stringify(sa), JSON.stringify(sc));
  for (let i = 0; i < 1000; i++) {
    const x = a();
    if (x < 0 || x >= 1) t.fail(`out of range: ${x}`);
  }
});
