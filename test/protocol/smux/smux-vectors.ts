/**
 * Loader for the smux golden vectors. `vectors/smux-frames.json` is a verbatim copy of
 * ../shared/vectors/smux-frames.json so the suite runs from a clean clone (a test checks the copy
 * still matches the shared file when that file is present). The bytes were recorded from real
 * xtaci/smux v1.5.15 and v1.5.16 sessions. Frames that carry part of the 70000-byte write give `data_ref` +
 * `data_sha256` instead of hex; `frameBytes()` rebuilds them from the pattern byte[i] = i mod 251
 * and checks the digest, so every frame is available as exact bytes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const SMUX_VECTOR_PATH = new URL('./vectors/smux-frames.json', import.meta.url);
export const SHARED_SMUX_VECTOR_PATH = new URL('../../../../shared/vectors/smux-frames.json', import.meta.url);

export type CmdName = 'SYN' | 'FIN' | 'PSH' | 'NOP' | 'UPD';
export type Direction = 'client_to_server' | 'server_to_client';

export interface FrameVector {
  name?: string;
  index?: number;
  dir?: Direction;
  step?: string;
  description?: string;
  version: number;
  cmd: CmdName;
  cmd_value?: number;
  length: number;
  stream_id: number;
  header_hex?: string;
  data_hex?: string;
  hex?: string;
  data_ref?: string;
  data_sha256?: string;
  upd?: { consumed: number; window: number };
}

export interface ByteStream {
  length: number;
  sha256: string;
  hex?: string;
}

export interface Scenario {
  name: string;
  description: string;
  protocol_version: number;
  config: Record<string, number | boolean>;
  steps: string[];
  frames: FrameVector[];
  byte_streams: Record<Direction, ByteStream>;
}

export interface SmuxVectorFile {
  format: string;
  frame_examples: FrameVector[];
  scenarios: Scenario[];
}

export function loadSmuxVectors(): SmuxVectorFile {
  return JSON.parse(readFileSync(SMUX_VECTOR_PATH, 'utf8')) as SmuxVectorFile;
}

/** The 70000-byte write: byte[i] = i mod 251. */
export const BIG_PATTERN: Buffer = (() => {
  const b = Buffer.allocUnsafe(70_000);
  for (let i = 0; i < b.length; i++) b[i] = i % 251;
  return b;
})();

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** The data bytes of a frame vector (rebuilt from the pattern for `data_ref` frames). */
export function frameData(v: FrameVector): Buffer {
  if (v.data_hex !== undefined) return Buffer.from(v.data_hex, 'hex');
  if (v.hex !== undefined && v.data_ref === undefined) return Buffer.from(v.hex, 'hex').subarray(8);
  const m = /bytes (\d+)\.\.(\d+) of the 70000-byte pattern/.exec(v.data_ref ?? '');
  if (m === null) throw new Error(`frame vector without data: ${JSON.stringify(v).slice(0, 120)}`);
  const data = BIG_PATTERN.subarray(Number(m[1]), Number(m[2]) + 1);
  if (v.data_sha256 !== undefined && sha256(data) !== v.data_sha256)
    throw new Error(`data_ref ${v.data_ref} does not match data_sha256`);
  return data;
}

/** The whole frame's bytes. */
export function frameBytes(v: FrameVector): Buffer {
  if (v.hex !== undefined) return Buffer.from(v.hex, 'hex');
  if (v.header_hex === undefined) throw new Error('frame vector without header_hex');
  return Buffer.concat([Buffer.from(v.header_hex, 'hex'), frameData(v)]);
}

/** Everything one side wrote in a scenario, in order. */
export function directionBytes(s: Scenario, dir: Direction): Buffer {
  return Buffer.concat(s.frames.filter((f) => f.dir === dir).map(frameBytes));
}
