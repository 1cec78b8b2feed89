/**
 * Reconnect storm (issue 13): a gateway that accepts every websocket and closes it at once
 * ("Bye" 1 ms after attach). Before the fix each drop started a fresh retry schedule: about
 * 4,000 ResumeSession calls in 20 s. Now the schedule survives drops, grows, gives the session
 * up after 6 attempts and the forward replaces it under its own growing backoff. The delay
 * sequence itself is asserted on a fake clock in test/session/data-channel.test.ts; this test
 * counts the calls the real engine makes against the emulator in 20 s of real time (an upper
 * bound, so a slow machine only makes fewer): docs/reliability.md documents the bound (20).
 */
import t from 'tap';
import { DEFAULT_INSTANCE_ID } from '../../src/emulator/index.js';
import { makeManager, startEcho, startEmu } from '../helpers/engine-rig.js';

const WINDOW_MS = 20_000;
const MAX_RESUMES = 20;

t.test('byeAfterMs: 1 — ResumeSession calls in 20 s stay within the documented bound', async (t) => {
  const emu = await startEmu(t, { faults: { byeAfterMs: 1 } });
  const echo = await startEcho(t);
  // The manager's default backoff (250 ms doubling to 30 s), as a user gets it.
  const { manager, events } = makeManager(t, emu, { backoff: { initialMs: 250, maxMs: 30_000 } });
  const f = manager.add({
    name: 'storm',
    target: { kind: 'id', id: DEFAULT_INSTANCE_ID },
    remotePort: echo.port,
    localPort: 'auto',
    bind: ['127.0.0.1'],
  });
  const t0 = performance.now();
  void manager.start();
  // Observe for 20 s: the test's only wait on time, bounded, asserting counts, not timings.
  await new Promise<void>((resolve) => setTimeout(resolve, WINDOW_MS));
  const resumes = emu.state.calls.filter((c) => c.operation === 'ResumeSession').length;
  const starts = emu.state.calls.filter((c) => c.operation === 'StartSession').length;
  t.comment(
    `${resumes} ResumeSession, ${starts} StartSession in ${Math.round(performance.now() - t0)} ms; state ${f.state}`,
  );
  t.ok(resumes >= 1, 'the engine does try to resume');
  t.ok(resumes <= MAX_RESUMES, `${resumes} ResumeSession calls ≤ ${MAX_RESUMES}`);
  t.ok(starts <= 6, `${starts} StartSession calls ≤ 6`);
  const delays = events.filter((e) => e.type === 'retry-scheduled').map((e) => Number(e['delayMs']));
  for (let i = 1; i < delays.length; i++)
    t.ok((delays[i] ?? 0) >= (delays[i - 1] ?? 0) / 2, 'fresh-session delays do not fall back (jitter aside)');
});
