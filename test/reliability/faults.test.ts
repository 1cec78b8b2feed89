/**
 * End-to-end fault injection (issue #8): TunnelManager ⇄ emulator over real loopback sockets,
 * each fault switched on at run time through the emulator's fault knobs, 4 MiB per direction
 * (4 connections × 1 MiB each way), sha256-verified both ways.
 *
 * Recoverable faults (drops, loss, duplicates, reordering, delayed acks, "Bye" closes) must lose
 * no byte and no connection, inside the same session. Session-loss faults (ResumeSession
 * refused with 403, agent restart) must close in-flight local sockets (never leave them
 * hanging) and serve new connections again within 2 s, on a fresh session.
 * `npm run soak` runs the same faults with 64 MiB per direction (bench/soak.ts).
 */
import t from 'tap';
import { MiB } from '../helpers/exchange-rig.js';
import { RECOVERABLE, recoverable, sessionLoss } from './scenarios.js';

const CONNECTIONS = 4;
const PER_CONNECTION = Number(process.env['RELIABILITY_MIB_PER_CONNECTION'] ?? 1) * MiB;

for (const fault of RECOVERABLE) {
  t.test(`${fault.name}: 4 MiB per direction, no byte and no connection lost`, async (t) => {
    await recoverable(t, fault, CONNECTIONS, PER_CONNECTION);
  });
}

t.test(
  'ResumeSession refused with 403: in-flight sockets closed, a fresh session within 2 s, 4 MiB intact',
  async (t) => {
    await sessionLoss(
      t,
      '403 on resume',
      (rig, sessionId) => {
        rig.emu.faults = { failResumeOnce: true };
        rig.emu.gatewaySession(sessionId)?.destroySockets();
      },
      CONNECTIONS,
      PER_CONNECTION,
    );
  },
);

t.test(
  'agent restarted mid-transfer: in-flight sockets closed, a fresh session within 2 s, 4 MiB intact',
  async (t) => {
    await sessionLoss(
      t,
      'agent restart',
      (rig, sessionId) => {
        rig.emu.restartAgent(sessionId, { handshakeTimeoutMs: 200 });
      },
      CONNECTIONS,
      PER_CONNECTION,
    );
  },
);
