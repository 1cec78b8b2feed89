/**
 * One slow reader must not freeze a forward (issue 13). An unpaced 300 MB download is read by
 * its local client at 2 MB/s for 60 s while a 1 MiB probe starts every 5 s through the same
 * forward (default `sessions: auto`); then the slow connection closes and 10 fresh downloads
 * run. Before the fix every probe got 0 bytes and the fresh connections hung for good.
 *
 * This is the suite's one long test (about 70 s: the reader's pace is the point). It asserts
 * counts, not timings: a probe counts if it completes sha256-identical within a generous cap.
 * The tunnel's memory under this load is measured by `npm run bench` (memory.slow_reader_peak_rss_MB).
 */
import t from 'tap';
import { DEFAULT_INSTANCE_ID } from '../../src/emulator/index.js';
import { makeManager, startEmu } from '../helpers/engine-rig.js';
import { download, expectedSha, startStreamSource } from '../helpers/stream-source.js';

const BIG = 300_000_000;
const READ_BPS = 2_000_000;
const DURATION_MS = 60_000;
const PROBE_EVERY_MS = 5_000;
const PROBE_BYTES = 1 << 20;
/** A probe that has not completed in this long counts as failed (generous: the machine is shared). */
const PROBE_CAP_MS = 20_000;

t.test('a slow reader does not hold the other connections hostage, and its close frees the forward', async (t) => {
  const emu = await startEmu(t);
  const source = await startStreamSource(t);
  const { manager } = makeManager(t, emu);
  const f = manager.add({
    name: 'slow',
    target: { kind: 'id', id: DEFAULT_INSTANCE_ID },
    remotePort: source.port,
    localPort: 'auto',
    bind: ['127.0.0.1'],
  });
  await manager.start();
  const port = f.port ?? 0;

  // The slow reader: reads at READ_BPS by pausing its socket whenever it is ahead of schedule.
  const slow = download(port, 1, BIG);
  const t0 = performance.now();
  let resumeTimer: NodeJS.Timeout | undefined;
  slow.socket.on('data', () => {
    const ahead = (slow.received() / READ_BPS) * 1000 - (performance.now() - t0);
    if (ahead > 0 && resumeTimer === undefined) {
      slow.socket.pause();
      resumeTimer = setTimeout(() => {
        resumeTimer = undefined;
        slow.socket.resume();
      }, ahead);
    }
  });

  const probes: Array<Promise<boolean>> = [];
  for (let i = 0; i < DURATION_MS / PROBE_EVERY_MS; i++) {
    await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    const p = download(port, 100 + i, PROBE_BYTES);
    const cap = setTimeout(() => p.socket.destroy(), PROBE_CAP_MS);
    probes.push(p.done.then((r) => (clearTimeout(cap), r.end === 'complete')));
  }
  const ok = (await Promise.all(probes)).filter(Boolean).length;
  const st = f.status();
  t.comment(`probes ${ok}/${probes.length}; slow reader at ${slow.received()} bytes; pool ${JSON.stringify(st.pool)}`);
  t.ok(ok >= Math.ceil(probes.length * 0.9), `${ok} of ${probes.length} probes complete sha256-identical (≥ 90%)`);
  t.ok((st.pool?.opened ?? 0) <= 4, 'never more sessions than the bound');

  // The slow reader so far received a prefix of the stream, intact.
  if (resumeTimer !== undefined) clearTimeout(resumeTimer);
  slow.socket.destroy();
  const prefix = await slow.done;
  t.equal(prefix.sha, expectedSha(1, prefix.bytes), `the ${prefix.bytes} bytes the slow reader got are intact`);

  const fresh = Array.from({ length: 10 }, (_, i) => download(port, 200 + i, PROBE_BYTES));
  const caps = fresh.map((d) => setTimeout(() => d.socket.destroy(), PROBE_CAP_MS));
  const ends = await Promise.all(fresh.map((d) => d.done));
  caps.forEach((c) => clearTimeout(c));
  t.equal(ends.filter((e) => e.end === 'complete').length, 10, '10 of 10 fresh connections complete after the close');
});
