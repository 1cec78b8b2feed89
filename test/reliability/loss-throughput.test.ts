/**
 * Regression test for the collapse seen by `npm run soak` under 1% message loss (issue #8
 * report): the agent may have 100,000 messages unacked (its window, as upstream), the client
 * buffers only 10,000 out-of-order messages and drops the rest unacked, and the sender
 * retransmits only the oldest unacked message per 100 ms tick. Once the client's reorder buffer
 * has overflowed, every dropped message costs one tick: the download falls to ~10 messages
 * (~10 KiB) per second and a 16 MiB transfer takes tens of minutes.
 *
 * Driven with two real ReliableLinks (agent → client, default windows and capacities) over a
 * simulated network on a FakeClock: 25,000 messages (25 MB) at 1% loss in each direction must
 * all arrive, in order, within 5 minutes of simulated time. With a 10,000 reorder buffer only
 * 13,002 arrived in that time; with the agent's window (100,000), the default now, all arrive in 48 s.
 */
import t from 'tap';
import { ReliableLink } from '../../src/session/reliable-link.js';
import { PayloadType, decodeClientMessage } from '../../src/protocol/ssm/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { Prng } from '../helpers/fuzz.js';

t.test('1% loss, 25,000 agent messages: all delivered in order within 5 simulated minutes', async (t) => {
  const clock = new FakeClock();
  const rng = new Prng(1);
  const toClient: Array<{ at: number; frame: Buffer }> = [];
  const toAgent: Array<{ at: number; frame: Buffer }> = [];
  const lossy = (q: Array<{ at: number; frame: Buffer }>) => (frame: Buffer) => {
    if (!rng.chance(0.01)) q.push({ at: clock.now() + 5, frame });
  };
  let received = 0;
  let inOrder = true;
  const agent = new ReliableLink({
    role: 'agent',
    clock,
    sendFrame: lossy(toClient),
    deliver: () => true,
    maxResends: Infinity,
  });
  const client = new ReliableLink({
    role: 'client',
    clock,
    sendFrame: lossy(toAgent),
    maxResends: Infinity,
    deliver: (m) => {
      if (m.payload.readUInt32BE(0) !== received) inOrder = false;
      received++;
      return true;
    },
  });
  const N = 25_000;
  const payload = Buffer.alloc(1000);
  for (let i = 0; i < N; i++) {
    payload.writeUInt32BE(i, 0);
    agent.send(PayloadType.Output, payload);
  }
  const deliverDue = (q: Array<{ at: number; frame: Buffer }>, link: ReliableLink): void => {
    let n = 0;
    while (n < q.length && (q[n]?.at ?? Infinity) <= clock.now()) n++;
    for (const f of q.splice(0, n)) link.handleMessage(decodeClientMessage(f.frame));
  };
  const limitMs = 5 * 60_000;
  while (received < N && clock.now() < limitMs) {
    clock.advance(5);
    deliverDue(toClient, client);
    deliverDue(toAgent, agent);
  }
  t.comment(
    `${received} of ${N} delivered after ${(clock.now() / 1000).toFixed(0)} s simulated; client reorder buffer ${client.reorderCount}, agent unacked ${agent.unackedCount}`,
  );
  t.equal(received, N, 'every message arrived within 5 simulated minutes');
  t.ok(inOrder, 'in order');
  agent.close();
  client.close();
});
