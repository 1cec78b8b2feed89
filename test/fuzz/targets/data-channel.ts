/**
 * Fuzz target for the client data channel state machine (src/session/data-channel.ts) over a
 * fake transport: a random script of agent records (handshake in or out of order, acks, output
 * data with near sequence numbers, flags, channel_closed, pause/start publication), mutated and
 * random records, text frames, transport drops (resumed or refused), sends and clock steps.
 *
 * Invariants: open() settles with a result or a typed SessionError; every 'error' event is a
 * typed TunnelError; 'protocol-error' only for ERR_SSM_* codes; 'data' bytes only ever come
 * from Output payloads the script sent, in sequence order; close() leaves no timer behind.
 */
import { DataChannel } from '../../../src/session/data-channel.js';
import { TunnelError } from '../../../src/errors.js';
import { FlagCode, MessageType, PayloadType, encodeFlag } from '../../../src/protocol/ssm/index.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { FakeConnector, flush } from '../../helpers/fake-transport.js';
import {
  agentAck,
  agentFrame,
  channelClosed,
  handshakeComplete,
  handshakeRequest,
  mgsFrame,
} from '../../helpers/agent-script.js';
import { type FuzzTarget, type Prng, check, mutate } from '../../helpers/fuzz.js';

export const dataChannelTarget: FuzzTarget = {
  name: 'data-channel',
  weight: 1,
  allowed: ['ERR_SESSION_'],
  async run(rng: Prng) {
    const clock = new FakeClock();
    const conn = new FakeConnector();
    conn.autoPong = rng.chance(0.5);
    const problems: string[] = [];
    const resumes = rng.int(3);
    let resumeCalls = 0;
    const ch = new DataChannel({
      streamUrl: 'wss://ssmmessages.example/v1/data-channel/s-1',
      tokenValue: 'TOKEN-1',
      sessionId: 's-1',
      targetId: 'i-0123456789abcdef0',
      clock,
      connect: conn.connect,
      random: () => 0,
      handshakeTimeoutMs: 5000,
      pingIntervalMs: 1000,
      deadPeerTimeoutMs: 3000,
      maxResends: 20,
      resume: async () => (resumeCalls++ < resumes ? `TOKEN-${resumeCalls + 1}` : undefined),
    });
    ch.on('error', (e: unknown) => {
      if (!(e instanceof TunnelError)) problems.push(`untyped 'error': ${String(e)}`);
    });
    ch.on('protocol-error', (e: unknown) => {
      if (!(e instanceof TunnelError && e.code.startsWith('ERR_SSM_')))
        problems.push(`bad protocol-error: ${String(e)}`);
    });
    // Output payloads by sequence number; delivered bytes must be their in-order concatenation.
    const outputs = new Map<number, Buffer>();
    const delivered: Buffer[] = [];
    ch.on('data', (b: Buffer) => delivered.push(Buffer.from(b)));
    let settled: 'pending' | 'open' | 'rejected' = 'pending';
    ch.open().then(
      () => (settled = 'open'),
      (e: unknown) => {
        settled = 'rejected';
        if (!(e instanceof TunnelError && e.code.startsWith('ERR_SESSION_')))
          problems.push(`open() rejected untyped: ${String(e)}`);
      },
    );
    await flush();
    if (rng.chance(0.6)) {
      // A correct handshake first, so the established state gets its share of the cases.
      const tr = conn.transports[0];
      tr?.receive(handshakeRequest());
      await flush();
      tr?.receive(agentAck(0));
      tr?.receive(handshakeComplete(1));
      await flush();
    }
    const records = (): Buffer => {
      const seq = rng.chance(0.8) ? 2 + rng.int(6) : rng.int(8);
      switch (rng.int(10)) {
        case 0:
          return handshakeRequest({
            agentVersion: rng.pick(['3.3.1142.0', '3.0.222.0', '2.3.0.0', 'garbage']),
            sessionType: rng.pick(['Port', 'Port', 'Standard_Stream', 'InteractiveCommands']),
            seq: rng.int(2),
          });
        case 1:
          return handshakeComplete(rng.int(3));
        case 2:
          return agentAck(rng.int(6));
        case 3:
        case 4: {
          let p = outputs.get(seq);
          if (p === undefined) {
            p = rng.bytes(1 + rng.int(64));
            outputs.set(seq, p);
          }
          return agentFrame(seq, PayloadType.Output, p);
        }
        case 5:
          return agentFrame(
            seq,
            PayloadType.Flag,
            encodeFlag(rng.pick([FlagCode.DisconnectToPort, FlagCode.TerminateSession, FlagCode.ConnectToPortError])),
          );
        case 6:
          return rng.chance(0.3)
            ? channelClosed(rng.pick(['', 'Session terminated', 'lookup x: no such host']))
            : mgsFrame(rng.pick([MessageType.PausePublication, MessageType.StartPublication]));
        case 7:
          return rng.bytes(rng.int(200));
        default:
          return mutate(rng, handshakeRequest());
      }
    };
    for (let op = 0, n = 1 + rng.int(30); op < n; op++) {
      const tr = conn.transports[conn.transports.length - 1];
      switch (rng.int(6)) {
        case 0:
        case 1:
        case 2:
          if (tr !== undefined && !tr.closed) tr.receive(records(), rng.chance(0.95));
          break;
        case 3:
          if (tr !== undefined && !tr.closed && rng.chance(0.3)) tr.drop();
          else clock.advance(rng.pick([10, 200, 1000, 3500, 6000]));
          break;
        case 4:
          try {
            ch.sendData(rng.bytes(rng.int(3000)));
          } catch (e) {
            if (!(e instanceof TunnelError)) problems.push(`sendData threw untyped: ${String(e)}`);
          }
          break;
        default:
          await flush();
          break;
      }
    }
    await flush();
    ch.close();
    await flush();
    // Every delivered chunk is one Output payload the script sent, each at most once, in
    // increasing sequence order (duplicates and reordering never reach the consumer).
    let last = -1;
    for (const chunk of delivered) {
      const seq = [...outputs.entries()].find(([, p]) => p.equals(chunk))?.[0];
      check(seq !== undefined, 'delivered bytes that no Output record carried');
      check(seq > last, `Output seq ${seq} delivered after seq ${last}`);
      last = seq;
    }
    check(problems.length === 0, problems.join('; '));
    check(clock.pending === 0, `${clock.pending} timers left after close()`);
    return settled;
  },
};
