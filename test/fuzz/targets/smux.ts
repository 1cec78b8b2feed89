/**
 * Fuzz targets for the smux wire codec (src/protocol/smux): whole-frame decode, and the
 * incremental FrameDecoder fed valid and mutated frame streams in random splits.
 */
import {
  Cmd,
  FrameDecoder,
  HEADER_SIZE,
  type SmuxFrame,
  decodeFrame,
  decodeUpd,
  encodeFrame,
  encodeUpd,
} from '../../../src/protocol/smux/index.js';
import { TunnelError } from '../../../src/errors.js';
import { type FuzzTarget, type Prng, check, mutate, randomSplit } from '../../helpers/fuzz.js';

/** A random valid frame for `version` (UPD only in version 2, as a v1 peer never sends one). */
export function randomFrame(rng: Prng, version: 1 | 2): { version: number; cmd: Cmd; streamId: number; data: Buffer } {
  const cmds =
    version === 2
      ? [Cmd.SYN, Cmd.FIN, Cmd.PSH, Cmd.PSH, Cmd.PSH, Cmd.NOP, Cmd.UPD]
      : [Cmd.SYN, Cmd.FIN, Cmd.PSH, Cmd.PSH, Cmd.PSH, Cmd.NOP];
  const cmd = rng.pick(cmds);
  const streamId = cmd === Cmd.NOP ? 0 : rng.chance(0.1) ? 0xffffffff - rng.int(4) : rng.int(64);
  let data: Buffer = Buffer.alloc(0);
  if (cmd === Cmd.PSH) data = rng.bytes(rng.chance(0.01) ? 0xffff : rng.int(rng.chance(0.2) ? 0 : 2048));
  if (cmd === Cmd.UPD) data = encodeUpd({ consumed: rng.u32(), window: rng.u32() });
  return { version, cmd, streamId, data };
}

function sameFrame(a: SmuxFrame, b: { cmd: Cmd; streamId: number; data: Buffer }): boolean {
  return a.cmd === b.cmd && a.streamId === b.streamId && a.data.equals(b.data);
}

export const smuxFrameTarget: FuzzTarget = {
  name: 'smux-frame',
  weight: 3,
  allowed: ['ERR_SMUX_'],
  run(rng) {
    const version = rng.pick([1, 2] as const);
    const f = randomFrame(rng, version);
    const bytes = encodeFrame(f);
    if (rng.chance(0.2)) {
      check(sameFrame(decodeFrame(bytes, version), f), 'smux frame round trip changed the frame');
      if (f.cmd === Cmd.UPD) {
        const u = decodeUpd(f.data);
        check(encodeUpd(u).equals(f.data), 'UPD body round trip');
      }
      return 'round-trip';
    }
    const input = mutate(rng, bytes);
    const copy = Buffer.from(input);
    const got = decodeFrame(input, rng.chance(0.9) ? version : rng.int(256));
    check(input.equals(copy), 'decodeFrame modified its input');
    check(got.data.length === input.length - HEADER_SIZE, 'decoded data length disagrees with the frame');
    if (got.cmd === Cmd.UPD) decodeUpd(got.data);
    return 'accepted';
  },
};

export const smuxDecoderTarget: FuzzTarget = {
  name: 'smux-decoder',
  weight: 2,
  allowed: ['ERR_SMUX_'],
  run(rng) {
    const version = rng.pick([1, 2] as const);
    const frames = Array.from({ length: 1 + rng.int(12) }, () => randomFrame(rng, version));
    let stream: Buffer = Buffer.concat(frames.map((f) => encodeFrame(f)));
    const corrupt = rng.chance(0.6);
    if (corrupt) stream = mutate(rng, stream, encodeFrame(randomFrame(rng, version)));
    const dec = new FrameDecoder(version);
    const got: SmuxFrame[] = [];
    let pushed = 0;
    let consumed = 0;
    let latched: TunnelError | undefined;
    // Tiny chunks only for short streams, to keep each case fast (a 64 KiB frame in 1-byte chunks
    // is 65,536 pushes; it was quadratic before 9aab39a, and test/protocol/smux covers it now).
    const maxChunk = stream.length < 4096 && rng.chance(0.5) ? 16 : 2048;
    for (const chunk of randomSplit(rng, stream, 1 + rng.int(maxChunk))) {
      dec.push(chunk);
      pushed += chunk.length;
      try {
        for (let f = dec.next(), guard = 0; f !== undefined; f = dec.next(), guard++) {
          check(guard <= stream.length, 'FrameDecoder.next() never ran out of frames');
          got.push(f);
          consumed += HEADER_SIZE + f.data.length;
        }
      } catch (e) {
        if (!(e instanceof TunnelError)) throw e;
        latched = e;
        break;
      }
      // Nothing is held that is not an unfinished frame.
      // (a header already parsed for a frame whose data is incomplete is no longer counted).
      const open = pushed - consumed;
      check(
        dec.bufferedBytes === open || dec.bufferedBytes === open - HEADER_SIZE,
        `decoder holds ${dec.bufferedBytes} of ${open} unconsumed bytes`,
      );
    }
    if (latched !== undefined) {
      // The first error is latched: every later call throws the very same error.
      let again: unknown;
      try {
        dec.next();
      } catch (e) {
        again = e;
      }
      check(again === latched, 'FrameDecoder did not latch its first error');
      throw latched;
    }
    if (!corrupt) {
      check(got.length === frames.length, `decoded ${got.length} of ${frames.length} frames`);
      got.forEach((g, i) => check(sameFrame(g, frames[i] as SmuxFrame), `frame ${i} differs after random splits`));
      check(dec.bufferedBytes === 0, 'bytes left over after a clean stream');
    }
    return corrupt ? 'corrupt-accepted' : 'clean';
  },
};
