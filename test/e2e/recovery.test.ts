/** Never-die against the emulator: lazy/idle, resume after a drop, fresh sessions after channel_closed, Bye, 403 on resume. */
import t from 'tap';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DEFAULT_INSTANCE_ID, IDLE_TIMEOUT_TEXT, MAX_DURATION_TEXT } from '../../src/emulator/index.js';
import { makeManager, sha, startEcho, startEmu, until } from '../helpers/engine-rig.js';
import { roundTrip } from '../helpers/round-trip.js';

const target = { kind: 'id' as const, id: DEFAULT_INSTANCE_ID };
const count = (emu: { state: { calls: Array<{ operation: string }> } }, op: string): number =>
  emu.state.calls.filter((c) => c.operation === op).length;

t.test('lazy: listener first, a session on the first connection, closed after idle', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager, events } = makeManager(t, emu);
  const f = manager.add({
    name: 'lazy',
    target,
    remotePort: echo.port,
    localPort: 'auto',
    bind: ['127.0.0.1'],
    lazy: true,
    idleTimeoutMs: 200,
  });
  await manager.start();
  t.equal(f.state, 'ready');
  t.equal(count(emu, 'StartSession'), 0, 'no session before a connection');
  const p = randomBytes(10_000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p));
  t.equal(count(emu, 'StartSession'), 1);
  await until(f, 'event', () => events.some((e) => e.type === 'idle-close'));
  await until(emu.state, 'api-call', () => count(emu, 'TerminateSession') === 1);
  t.equal(f.status().sessions.length, 0);
  t.equal(f.state, 'ready');
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), 'the next connection opens a new session');
  t.equal(count(emu, 'StartSession'), 2);
});

t.test('a dropped websocket is resumed with nothing lost', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager, events } = makeManager(t, emu);
  const f = manager.add({ name: 'resume', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  const sessionId = f.status().sessions[0]?.sessionId;
  emu.events.on('fault', () => {
    emu.faults = {};
  });
  emu.faults = { dropAfterBytes: 150_000 };
  const p = randomBytes(600_000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p), '600 kB echoed intact across the drop');
  t.ok(count(emu, 'ResumeSession') >= 1, 'ResumeSession was called');
  t.equal(f.status().sessions[0]?.sessionId, sessionId, 'same session');
  t.equal(f.status().reconnects, 0);
  t.equal(f.status().connections.failed, 0);
  t.ok(events.some((e) => e.type === 'session-reconnecting'));
});

t.test(
  'channel_closed from the service: in-flight connections closed and counted, a fresh session, same port',
  async (t) => {
    const emu = await startEmu(t);
    const echo = await startEcho(t);
    const { manager, events } = makeManager(t, emu);
    const f = manager.add({ name: 'cc', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
    await manager.start();
    const port = f.port;
    const first = f.status().sessions[0]?.sessionId ?? '';
    const c = connect(port ?? 0, '127.0.0.1');
    await once(c, 'connect');
    c.write('ping');
    await once(c, 'data');
    const closed = closeCode(c);
    emu.terminate(first, `Session ${first} was terminated.`);
    t.equal(await closed, 'ECONNRESET', 'the in-flight connection is reset, never ended with a FIN');
    await until(f, 'event', () => f.status().sessions.some((s) => s.sessionId !== first));
    t.equal(f.port, port);
    t.equal(f.state, 'ready');
    t.equal(f.status().reconnects, 1);
    t.equal(f.status().connections.failed, 1);
    const ended = events.find((e) => e.type === 'session-ended');
    t.equal(ended?.['droppedConnections'], 1);
    t.match(String(ended?.['message']), /was terminated/);
    const p = randomBytes(20_000);
    t.equal(sha(await roundTrip(port ?? 0, p)), sha(p));
  },
);

/** Resolves on 'close' with the socket's error code (undefined for a clean close). */
function closeCode(c: Socket): Promise<string | undefined> {
  return new Promise((resolve) => {
    let code: string | undefined;
    c.on('error', (e: NodeJS.ErrnoException) => (code = e.code));
    c.on('close', () => resolve(code));
  });
}

t.test('a "Bye" close keeps the forward working', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager, events } = makeManager(t, emu);
  const f = manager.add({ name: 'bye', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  const byes: string[] = [];
  emu.events.on('fault', (e) => {
    if (e.kind === 'bye') {
      byes.push(e.sessionId);
      emu.faults = {};
    }
  });
  // Armed when the client's websocket attaches: the service says "Bye" 30 ms later.
  emu.faults = { byeAfterMs: 30 };
  await manager.start();
  await until(
    f,
    'event',
    () =>
      byes.length > 0 &&
      events.some((e) => e.type === 'session-resumed' || (e.type === 'session-started' && e['sessionId'] !== byes[0])),
    1000,
  );
  t.equal(f.state, 'ready');
  const q = randomBytes(30_000);
  t.equal(sha(await roundTrip(f.port ?? 0, q)), sha(q), 'works after the Bye');
});

t.test('a 403 on ResumeSession gives a fresh session', async (t) => {
  const emu = await startEmu(t);
  const echo = await startEcho(t);
  const { manager, events } = makeManager(t, emu);
  const f = manager.add({ name: 'r403', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
  await manager.start();
  const first = f.status().sessions[0]?.sessionId ?? '';
  // One websocket drop (not repeated on the fresh session), then the ResumeSession is refused.
  emu.events.on('fault', () => {
    emu.faults = { failResumeOnce: emu.faults.failResumeOnce === true };
  });
  emu.faults = { failResumeOnce: true, dropAfterMessages: 1 };
  const c = connect(f.port ?? 0, '127.0.0.1');
  c.on('error', () => {});
  await once(c, 'connect');
  c.write('trigger');
  await until(f, 'event', () => f.status().sessions.some((s) => s.sessionId !== first));
  t.ok(
    emu.state.calls.some((x) => x.operation === 'ResumeSession' && x.errorCode === 'AccessDeniedException'),
    'resume was refused',
  );
  t.equal(f.state, 'ready');
  t.ok(events.some((e) => e.type === 'session-ended' && e['sessionId'] === first && e['permanent'] === false));
  c.destroy();
  const p = randomBytes(8000);
  t.equal(sha(await roundTrip(f.port ?? 0, p)), sha(p));
});

t.test('the service idle timeout and maximum duration end sessions; fresh ones follow, the port stays', async (t) => {
  for (const [opts, text] of [
    [{ maxSessionDurationMs: 150 }, MAX_DURATION_TEXT],
    [{ idleTimeoutMs: 150 }, IDLE_TIMEOUT_TEXT],
  ] as const) {
    const emu = await startEmu(t, opts);
    const echo = await startEcho(t);
    const { manager, events } = makeManager(t, emu);
    const f = manager.add({ name: 'svc', target, remotePort: echo.port, localPort: 'auto', bind: ['127.0.0.1'] });
    await manager.start();
    const port = f.port;
    const first = f.status().sessions[0]?.sessionId ?? '';
    await until(f, 'event', () => events.some((e) => e.type === 'session-ended' && e['sessionId'] === first));
    const ended = events.find((e) => e.type === 'session-ended');
    t.equal(ended?.['message'], text);
    t.equal(ended?.['permanent'], false);
    await until(f, 'event', () => f.status().sessions.some((s) => s.sessionId !== first));
    t.equal(f.port, port, 'same local port');
    const p = randomBytes(4000);
    t.equal(sha(await roundTrip(port ?? 0, p)), sha(p), `works after: ${text}`);
    await manager.stop();
  }
});
