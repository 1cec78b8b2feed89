/**
 * Fuzz targets for the data channel's reliability state machine (src/session/reliable-link.ts),
 * which the client DataChannel and the emulator's agent both run.
 *
 * - `reliable-link-ops`: one link fed a random mix of in-window, early, duplicate and stale
 *   stream messages, acks (valid, unknown, malformed), publication pauses, reconnects, clock
 *   steps and a consumer that sometimes says "not ready". Invariants: delivery is in sequence
 *   order, exactly once per accepted message, with the payload that was sent; every frame the
 *   link emits decodes with a valid digest; the reorder buffer never exceeds its capacity;
 *   retransmissions are byte-identical; close() leaves no timer.
 * - `reliable-link-pair`: a client link and an agent link over a network that loses,
 *   duplicates and reorders frames. Every message must arrive exactly once, in order, both ways.
 */
import { ReliableLink, type LinkRole } from '../../../src/session/reliable-link.js';
import { TunnelError } from '../../../src/errors.js';
import {
  type ClientMessage,
  MessageFlags,
  MessageType,
  PayloadType,
  decodeAcknowledge,
  decodeClientMessage,
  encodeAcknowledge,
  encodeClientMessage,
} from '../../../src/protocol/ssm/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { type FuzzTarget, type Prng, check, mutate } from '../../helpers/fuzz.js';

const HANDSHAKE_TYPES = new Set<number>([
  PayloadType.HandshakeRequest,
  PayloadType.HandshakeComplete,
  PayloadType.EncChallengeRequest,
]);

function streamMessage(rng: Prng, type: string, seq: number, payload: Buffer, payloadType: number): ClientMessage {
  return decodeClientMessage(
    encodeClientMessage({
      messageType: type,
      createdDate: 1_700_000_000_000,
      sequenceNumber: seq,
      flags: MessageFlags.Data,
      messageId: rng.uuid(),
      payloadType,
      payload,
    }),
  );
}

function ackMessage(rng: Prng, seq: number, ackedType: string): ClientMessage {
  const payload = encodeAcknowledge({
    acknowledgedMessageType: ackedType,
    acknowledgedMessageId: rng.uuid(),
    acknowledgedMessageSequenceNumber: seq,
    isSequentialMessage: true,
  });
  return decodeClientMessage(
    encodeClientMessage({
      messageType: MessageType.Acknowledge,
      createdDate: 1_700_000_000_000,
      sequenceNumber: 0,
      flags: MessageFlags.Ack,
      messageId: rng.uuid(),
      payloadType: 0,
      payload,
    }),
  );
}

export const reliableLinkOpsTarget: FuzzTarget = {
  name: 'reliable-link-ops',
  weight: 2,
  allowed: ['ERR_SESSION_'],
  run(rng) {
    const role: LinkRole = rng.pick(['client', 'agent'] as const);
    const inType = role === 'client' ? MessageType.OutputStreamData : MessageType.InputStreamData;
    const outType = role === 'client' ? MessageType.InputStreamData : MessageType.OutputStreamData;
    const clock = new FakeClock();
    const capacity = rng.int(17);
    const window = 1 + rng.int(32);
    /** What the peer "sent" for each sequence number (a retransmission repeats it exactly). */
    const peerPayloads = new Map<number, { payload: Buffer; payloadType: number }>();
    const firstFrame = new Map<number, Buffer>();
    const receivedSeqs = new Set<number>();
    let accepted = 0;
    let deliverCalls = 0;
    let sent = 0;
    let blocked = false;
    let readyProbability = rng.pick([1, 0.9, 0.5]);
    const link = new ReliableLink({
      role,
      clock,
      windowMessages: window,
      reorderCapacity: capacity,
      maxResends: rng.pick([0, 3, 3000]),
      sendFrame(frame) {
        const m = decodeClientMessage(frame); // throws (typed) if the link built a bad frame: a failure
        if (m.messageType === MessageType.Acknowledge) {
          const seq = decodeAcknowledge(m.payload).acknowledgedMessageSequenceNumber;
          check(receivedSeqs.has(seq), `acked seq ${seq} that never arrived`);
          return;
        }
        check(m.messageType === outType, `link sent ${m.messageType}`);
        const first = firstFrame.get(m.sequenceNumber);
        if (first === undefined) firstFrame.set(m.sequenceNumber, frame);
        else check(first.equals(frame), `retransmission of seq ${m.sequenceNumber} is not byte-identical`);
      },
      deliver(msg) {
        deliverCalls++;
        check(msg.sequenceNumber === accepted, `delivered seq ${msg.sequenceNumber}, expected ${accepted}`);
        const sentAs = peerPayloads.get(msg.sequenceNumber);
        check(
          sentAs !== undefined && sentAs.payload.equals(msg.payload),
          `seq ${msg.sequenceNumber} delivered with a different payload`,
        );
        const ok = HANDSHAKE_TYPES.has(msg.payloadType) || rng.chance(readyProbability);
        if (ok) accepted++;
        return ok;
      },
    });
    link.on('drain', () => {
      blocked = false;
    });
    link.on('protocol-error', (e: unknown) =>
      check(e instanceof TunnelError && e.code.startsWith('ERR_SSM_'), 'protocol-error is not a typed ERR_SSM_ error'),
    );
    link.on('resend-exhausted', (e: unknown) =>
      check(e instanceof TunnelError && e.code === 'ERR_SESSION_RESEND_EXHAUSTED', 'resend-exhausted without its code'),
    );

    for (let op = 0, n = 1 + rng.int(30); op < n; op++) {
      switch (rng.int(10)) {
        case 0:
        case 1:
        case 2: {
          // A stream message near the expected sequence number (early, in order, duplicate).
          const seq = Math.max(0, link.expectedSequenceNumber + rng.range(-3, capacity + 3));
          let p = peerPayloads.get(seq);
          if (p === undefined) {
            p = {
              payload: rng.bytes(1 + rng.int(64)),
              payloadType: rng.chance(0.1) ? rng.pick([...HANDSHAKE_TYPES]) : PayloadType.Output,
            };
            peerPayloads.set(seq, p);
          }
          receivedSeqs.add(seq);
          link.handleMessage(streamMessage(rng, inType, seq, p.payload, p.payloadType));
          break;
        }
        case 3:
          if (!blocked) {
            blocked = !link.send(PayloadType.Output, rng.bytes(1 + rng.int(32)));
            sent++;
          }
          break;
        case 4: {
          // An ack for something sent, something never sent, or a huge number.
          const seq =
            rng.chance(0.7) && sent > 0 ? rng.int(sent) : rng.pick([sent, sent + 1, 2 ** 31, Number.MAX_SAFE_INTEGER]);
          link.handleMessage(ackMessage(rng, seq, outType));
          break;
        }
        case 5: {
          // An ack whose payload is garbage: 'protocol-error', nothing else.
          const good = ackMessage(rng, rng.int(sent + 1), outType);
          link.handleMessage({ ...good, payload: mutate(rng, good.payload) });
          break;
        }
        case 6:
          link.handleMessage(
            streamMessage(
              rng,
              rng.pick([
                MessageType.PausePublication,
                MessageType.StartPublication,
                MessageType.ChannelClosed,
                outType,
              ]),
              rng.int(4),
              Buffer.from('{}'),
              0,
            ),
          );
          break;
        case 7:
          link.setConnected(rng.chance(0.5));
          break;
        case 8:
          clock.advance(rng.pick([1, 50, 100, 250, 1000, 5000]));
          break;
        default:
          readyProbability = rng.pick([1, 0.5, 0]);
          link.flushDelivery();
          break;
      }
      check(link.reorderCount <= capacity, `reorder buffer holds ${link.reorderCount} > ${capacity}`);
      check(link.unackedCount <= sent, 'more unacked than sent');
      check(
        link.expectedSequenceNumber === accepted,
        `link expects ${link.expectedSequenceNumber}, consumer accepted ${accepted}`,
      );
    }
    link.close();
    check(clock.pending === 0, `${clock.pending} timers left after close()`);
    return deliverCalls > 0 ? 'delivered' : 'ok';
  },
};

interface InFlight {
  at: number;
  frame: Buffer;
}

export const reliableLinkPairTarget: FuzzTarget = {
  name: 'reliable-link-pair',
  weight: 1,
  allowed: [],
  run(rng) {
    const clock = new FakeClock();
    const loss = rng.pick([0, 0.01, 0.1, 0.3]);
    const dup = rng.pick([0, 0.01, 0.1]);
    const jitterMs = rng.pick([0, 5, 50]);
    const toAgent: InFlight[] = [];
    const toClient: InFlight[] = [];
    const transmit = (queue: InFlight[], frame: Buffer): void => {
      if (rng.chance(loss)) return;
      const copies = rng.chance(dup) ? 2 : 1;
      for (let i = 0; i < copies; i++) queue.push({ at: clock.now() + 1 + rng.int(jitterMs + 1), frame });
    };
    const got = { client: [] as Buffer[], agent: [] as Buffer[] };
    const mk = (role: LinkRole, out: InFlight[]): ReliableLink =>
      new ReliableLink({
        role,
        clock,
        windowMessages: 1 + rng.int(16),
        maxResends: Infinity,
        sendFrame: (f) => transmit(out, f),
        deliver: (m) => {
          got[role].push(m.payload);
          return true;
        },
      });
    const client = mk('client', toAgent);
    const agent = mk('agent', toClient);
    const want = { client: [] as Buffer[], agent: [] as Buffer[] };
    const todo = { client: rng.int(16), agent: rng.int(16) };
    const blocked = { client: false, agent: false };
    client.on('drain', () => (blocked.client = false));
    agent.on('drain', () => (blocked.agent = false));
    const pump = (role: 'client' | 'agent', link: ReliableLink): void => {
      while (todo[role] > 0 && !blocked[role]) {
        const p = rng.bytes(1 + rng.int(100));
        // The receiver of this payload is the other side.
        want[role === 'client' ? 'agent' : 'client'].push(p);
        todo[role]--;
        blocked[role] = !link.send(PayloadType.Output, p);
      }
    };
    const arrive = (queue: InFlight[], link: ReliableLink): void => {
      // Everything due is delivered in random order (reordering within the jitter window).
      const due = queue.filter((f) => f.at <= clock.now());
      if (due.length === 0) return;
      const rest = queue.filter((f) => f.at > clock.now());
      queue.length = 0;
      queue.push(...rest);
      for (let i = due.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [due[i], due[j]] = [due[j] as InFlight, due[i] as InFlight];
      }
      for (const f of due) link.handleMessage(decodeClientMessage(f.frame));
    };
    let steps = 0;
    for (; steps < 20_000; steps++) {
      pump('client', client);
      pump('agent', agent);
      arrive(toAgent, agent);
      arrive(toClient, client);
      const done =
        todo.client === 0 &&
        todo.agent === 0 &&
        client.unackedCount === 0 &&
        agent.unackedCount === 0 &&
        toAgent.length === 0 &&
        toClient.length === 0;
      if (done) break;
      clock.advance(10);
    }
    check(steps < 20_000, `no progress after 20,000 steps (loss ${loss}, dup ${dup})`);
    for (const side of ['client', 'agent'] as const) {
      check(got[side].length === want[side].length, `${side} got ${got[side].length} of ${want[side].length} messages`);
      got[side].forEach((b, i) =>
        check(b.equals(want[side][i] as Buffer), `${side} message ${i} differs (lost, duplicated or reordered)`),
      );
    }
    client.close();
    agent.close();
    check(clock.pending === 0, 'timers left after close()');
    return 'exact';
  },
};
