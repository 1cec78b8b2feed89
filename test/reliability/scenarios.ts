/**
 * The fault scenarios of issue #8, shared by the CI test (test/reliability/faults.test.ts, 4 MiB
 * per direction) and the soak bench (bench/soak.ts, 64 MiB per direction). `Checker` is the
 * part of a tap `Test` the scenarios use, so the bench can run them without tap.
 */
import type { FaultSettings } from '../../src/emulator/options.js';
import type { Emulator } from '../../src/emulator/index.js';
import {
  MiB,
  dropEveryBytes,
  exchange,
  exchangeMany,
  receivedCount,
  sameHashes,
  startRig,
  until,
  type ExchangeResult,
  type Rig,
  type Teardown,
} from '../helpers/exchange-rig.js';

export interface Checker extends Teardown {
  ok(value: unknown, message: string): unknown;
  notOk(value: unknown, message: string): unknown;
  equal(found: unknown, wanted: unknown, message: string): unknown;
  not(found: unknown, wanted: unknown, message: string): unknown;
}

export interface RecoverableFault {
  name: string;
  faults: FaultSettings;
  /** Fault kinds (emulator 'fault' events) that must have happened. */
  kinds: string[];
  /**
   * Configure the fault when the emulator starts instead of through the runtime knob: per-socket
   * timers (Bye) are armed when a websocket attaches, so a runtime change reaches only later sockets.
   */
  atStart?: boolean;
  /** Extra set-up (e.g. drops driven by relayed bytes). */
  install?(emu: Emulator): void;
}

export const RECOVERABLE: RecoverableFault[] = [
  { name: 'websocket dropped every 1 MiB', faults: {}, kinds: [], install: (emu) => void dropEveryBytes(emu, MiB) },
  { name: '1% message loss', faults: { dropRate: 0.01 }, kinds: ['drop'] },
  { name: '1% duplicates', faults: { duplicateRate: 0.01 }, kinds: ['duplicate'] },
  { name: 'reordering within a window of 8', faults: { reorderRate: 0.05, reorderWindow: 8 }, kinds: ['reorder'] },
  { name: 'acks delayed 300 ms', faults: { ackDelayMs: 300 }, kinds: ['ack-delay'] },
  { name: 'code-1000 "Bye" close every 100 ms', faults: { byeAfterMs: 100 }, kinds: ['bye'], atStart: true },
];

/**
 * `results` are client exchanges whose server-side connections are records `from`… of the
 * destination. A client's socket closes once both FINs are through the tunnel; its last bytes
 * may still be on their way to the destination, so first wait for every stream to end there.
 */
export async function verifyExchange(
  t: Checker,
  rig: Rig,
  results: ExchangeResult[],
  label: string,
  from: number,
): Promise<void> {
  await receivedCount(rig.dest, from, results.length);
  const records = rig.dest.records.slice(from);
  t.equal(results.filter((r) => r.clean).length, results.length, `${label}: every connection ended cleanly`);
  t.equal(records.length, results.length, `${label}: the destination saw ${results.length} connections`);
  t.ok(
    sameHashes(
      results.map((r) => r.sentSha),
      records.map((r) => r.received ?? 'missing'),
    ),
    `${label}: the destination received exactly what the clients sent (sha256)`,
  );
  t.ok(
    sameHashes(
      results.map((r) => r.receivedSha),
      records.map((r) => r.sent),
    ),
    `${label}: the clients received exactly what the destination sent (sha256)`,
  );
}

/**
 * Run one recoverable fault: `connections` × `perConnection` bytes each way under the fault, then
 * check every byte (sha256, both directions), every connection and the session were kept.
 */
export async function recoverable(
  t: Checker,
  fault: RecoverableFault,
  connections: number,
  perConnection: number,
): Promise<void> {
  const rig = await startRig(t, {
    bytes: perConnection,
    ...(fault.atStart ? { emulator: { faults: fault.faults } } : {}),
  });
  const seen = new Map<string, number>();
  rig.emu.events.on('fault', (e) => seen.set(e.kind, (seen.get(e.kind) ?? 0) + 1));
  const drops = { n: 0 };
  if (fault.install) {
    fault.install(rig.emu);
    rig.emu.events.on('client-detached', () => drops.n++);
  }
  const sessionId = rig.forward.status().sessions[0]?.sessionId;
  if (!fault.atStart) rig.emu.faults = fault.faults; // the runtime knob: applies to the live session at once
  const results = await exchangeMany(rig.port, connections, perConnection);
  await verifyExchange(t, rig, results, fault.name, 0);
  rig.emu.faults = {};
  for (const k of fault.kinds) t.ok((seen.get(k) ?? 0) > 0, `the fault happened: ${seen.get(k) ?? 0} × ${k}`);
  if (fault.install) t.ok(drops.n >= 4, `the websocket was dropped ${drops.n} times`);
  const s = rig.forward.status();
  t.equal(s.connections.failed, 0, 'no connection failed');
  t.equal(s.connections.total, connections, 'every connection was served');
  t.equal(rig.dest.records.filter((r) => r.broken).length, 0, 'no destination socket was cut');
  t.equal(s.reconnects, 0, 'no fresh session was needed');
  t.equal(s.sessions[0]?.sessionId, sessionId, 'still the same session');
  t.equal(rig.forward.state, 'ready', 'the forward is ready');
}

/**
 * Start a transfer, cause a session loss once `afterBytes` of payload have been relayed, then
 * check: every in-flight socket closed (none hanging), a new connection works within 2 s of the
 * loss, and a full 4 MiB per direction exchange is intact on the fresh session.
 */
export async function sessionLoss(
  t: Checker,
  name: string,
  cause: (rig: Rig, sessionId: string) => void,
  connections: number,
  perConnection: number,
): Promise<void> {
  const rig = await startRig(t, { bytes: perConnection });
  const first = rig.forward.status().sessions[0]?.sessionId ?? '';
  let relayed = 0;
  let caused = false;
  rig.emu.events.on('message', ({ message }) => {
    relayed += message.payloadLength;
    if (!caused && relayed >= 256 * 1024) {
      caused = true;
      setImmediate(() => cause(rig, first));
    }
  });
  const inflight = exchangeMany(rig.port, connections, perConnection);
  await until(rig.forward, 'event', () =>
    rig.events.some((e) => e.type === 'session-ended' && e['sessionId'] === first),
  );
  const lostAt = performance.now();
  // Every in-flight local socket is closed: the promises settle (tap's timeout would catch a hang).
  const results = await inflight;
  t.equal(results.length, connections, `${name}: all ${connections} in-flight sockets were closed`);
  const cut = results.filter((r) => !r.clean || r.receivedBytes < perConnection).length;
  t.ok(cut > 0, `${name}: ${cut} in-flight connections were cut (the loss hit mid-transfer)`);
  // New connections work again within 2 s of the loss.
  let probe: ExchangeResult | undefined;
  for (let i = 0; i < 50 && performance.now() - lostAt < 2000; i++) {
    probe = await exchange(rig.port, perConnection);
    if (probe.clean && probe.receivedBytes === perConnection) break;
  }
  const recoveredMs = performance.now() - lostAt;
  t.ok(
    probe?.clean === true && probe.receivedBytes === perConnection,
    `${name}: a new connection worked ${recoveredMs.toFixed(0)} ms after the loss`,
  );
  t.ok(recoveredMs < 2000, `${name}: recovered within 2 s (${recoveredMs.toFixed(0)} ms)`);
  const s = rig.forward.status();
  t.not(s.sessions[0]?.sessionId, first, 'a fresh session replaced the lost one');
  t.ok(s.connections.failed >= cut, `the cut connections are counted as failed (${s.connections.failed})`);
  t.equal(rig.forward.state, 'ready', 'the forward is ready');
  // Full transfer on the fresh session.
  const before = rig.dest.records.length;
  const again = await exchangeMany(rig.port, connections, perConnection);
  await verifyExchange(t, rig, again, `${name}, fresh session`, before);
}
