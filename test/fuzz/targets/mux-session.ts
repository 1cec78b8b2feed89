/**
 * Fuzz target for the smux state machine (src/mux/mux-session.ts, mux-stream.ts): a MuxSession
 * (either role, v1 or v2, small budgets so the limits are reached) fed a random mix of valid
 * frames (SYN, PSH, FIN, UPD, NOP for known and unknown ids) and mutated byte runs, in random
 * chunks, while the local side opens, writes, reads, ends and destroys streams and the keep-alive
 * clock moves.
 *
 * Invariants: the session closes at most once, with nothing or a typed ERR_SMUX_* MuxError;
 * stream errors are typed; unread data never exceeds the receive budget by more than one frame;
 * the carrier is only fed while the session has not paused it (as a socket would), and the
 * decoder then holds at most one chunk more than a frame; after close() there is no stream and
 * no timer left.
 */
import { Duplex } from 'node:stream';
import { MuxSession, type MuxStream } from '../../../src/mux/index.js';
import { Cmd, MAX_DATA_BYTES, encodeFrame, encodeUpd } from '../../../src/protocol/smux/index.js';
import { TunnelError } from '../../../src/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { type FuzzTarget, check, mutate, randomSplit, turnEventLoop } from '../../helpers/fuzz.js';

/** A carrier the test feeds by hand; what the session writes is counted and dropped. */
class FuzzCarrier extends Duplex {
  written = 0;
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written += chunk.length;
    cb();
  }
  override _read(): void {}
}

function isTypedMuxError(e: unknown): boolean {
  return e instanceof TunnelError && e.code.startsWith('ERR_SMUX_');
}

export const muxSessionTarget: FuzzTarget = {
  name: 'mux-session',
  weight: 1,
  allowed: ['ERR_SMUX_'],
  async run(rng) {
    const version = rng.pick([1, 2] as const);
    const role = rng.pick(['client', 'server'] as const);
    const clock = new FakeClock();
    const maxReceiveBufferBytes = rng.pick([1024, 8192, 65536]);
    const config = {
      version,
      keepAliveDisabled: rng.chance(0.5),
      keepAliveIntervalMs: 1000,
      keepAliveTimeoutMs: 3000,
      maxFrameBytes: rng.pick([16, 1024, 32768]),
      maxReceiveBufferBytes,
      maxStreamBufferBytes: Math.min(maxReceiveBufferBytes, rng.pick([512, 4096, 65536])),
      acceptBacklog: rng.int(4),
    };
    const carrier = new FuzzCarrier();
    const session = new MuxSession(carrier, { role, config, clock });
    let closes = 0;
    const problems: string[] = [];
    session.on('close', (err?: unknown) => {
      closes++;
      if (err !== undefined && !isTypedMuxError(err))
        problems.push(`session closed with an untyped error: ${String(err)}`);
    });
    session.on('warning', (w: unknown) => {
      if (!isTypedMuxError(w)) problems.push('untyped warning');
    });
    const streams: MuxStream[] = [];
    const adopt = (s: MuxStream): void => {
      streams.push(s);
      s.on('error', (e: unknown) => {
        if (!isTypedMuxError(e)) problems.push(`stream ${s.id} errored with an untyped error: ${String(e)}`);
      });
      if (rng.chance(0.5)) s.resume(); // consume; otherwise leave it unread to hit the budget
    };
    const listening = rng.chance(0.8);
    if (listening) session.on('stream', adopt);

    // Stream ids the peer would use: odd from a client, even from a server (and some wrong ones).
    const peerIds = role === 'server' ? [3, 5, 7, 9] : [2, 4, 6, 8];
    const ids = [...peerIds, 0, 1, 0xffffffff];
    const frame = (): Buffer => {
      const cmd = rng.pick([Cmd.SYN, Cmd.SYN, Cmd.PSH, Cmd.PSH, Cmd.PSH, Cmd.FIN, Cmd.UPD, Cmd.NOP]);
      const streamId = cmd === Cmd.NOP ? 0 : rng.pick(ids);
      if (cmd === Cmd.PSH)
        return encodeFrame({
          version,
          cmd,
          streamId,
          data: rng.bytes(rng.chance(0.03) ? MAX_DATA_BYTES : rng.int(1500)),
        });
      if (cmd === Cmd.UPD)
        return encodeFrame({
          version,
          cmd,
          streamId,
          data: encodeUpd({
            consumed: rng.chance(0.5) ? rng.int(5000) : rng.u32(),
            window: rng.pick([0, 1, 65536, rng.u32()]),
          }),
        });
      return encodeFrame({ version, cmd, streamId });
    };

    for (let op = 0, n = 1 + rng.int(24); op < n && !session.isClosed; op++) {
      switch (rng.int(8)) {
        case 0:
        case 1:
        case 2:
        case 3: {
          const bytes = rng.chance(0.15)
            ? mutate(rng, frame(), frame())
            : Buffer.concat(Array.from({ length: 1 + rng.int(4) }, frame));
          for (const chunk of randomSplit(rng, bytes, 1 + rng.int(1500))) {
            if (session.isClosed || carrier.isPaused()) break; // a paused socket delivers nothing
            carrier.emit('data', chunk);
            check(
              session.receiveBufferedBytes <= maxReceiveBufferBytes + MAX_DATA_BYTES,
              `unread ${session.receiveBufferedBytes} bytes exceeds the budget`,
            );
            check(
              session.decoderBufferedBytes <= 2 * MAX_DATA_BYTES + 16 + chunk.length,
              `decoder holds ${session.decoderBufferedBytes} bytes`,
            );
          }
          break;
        }
        case 4:
          adopt(session.openStream());
          break;
        case 5: {
          const s = streams.length > 0 ? rng.pick(streams) : undefined;
          if (s !== undefined && !s.destroyed) {
            const what = rng.int(4);
            if (what === 0 && !s.writableEnded) s.write(rng.bytes(rng.int(5000)));
            else if (what === 1) s.end();
            else if (what === 2) s.destroy();
            else s.resume();
          }
          break;
        }
        case 6:
          clock.advance(rng.pick([100, 1000, 3500]));
          break;
        default:
          // Let stream reads, writes and budget returns happen (now and then: it is the costly op).
          if (rng.chance(0.3)) await turnEventLoop();
          break;
      }
    }
    if (rng.chance(0.2)) carrier.emit('end');
    await turnEventLoop();
    const closedByPeer = session.isClosed;
    session.close();
    await turnEventLoop();
    check(closes === 1, `'close' emitted ${closes} times`);
    check(session.streamCount === 0, `${session.streamCount} streams left after close()`);
    check(clock.pending === 0, `${clock.pending} timers left after close()`);
    check(problems.length === 0, problems.join('; '));
    carrier.destroy();
    return closedByPeer ? 'session-closed' : 'survived';
  },
};
