/**
 * smux micro-benchmark: frames/s and MiB/s through an in-process client/server MuxSession pair
 * joined by an in-memory byte pipe with real backpressure (no sockets, no data channel).
 *
 *   npm run build:bench && node dist/bench/mux-bench.js [--quick]
 *
 * Writes bench/results/mux.json and prints a table. Every case is bounded by bytes and time, so
 * a full run takes a few seconds. After a discarded warm-up pass, each case runs `REPEATS` times
 * and the median is reported.
 */
import { Duplex } from 'node:stream';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MuxSession, type MuxConfig, type MuxStream } from '../src/mux/index.js';

const QUICK = process.argv.includes('--quick');
const REPEATS = QUICK ? 1 : 5;
const MiB = 1024 * 1024;

/** One end of an in-memory pipe; counts the chunks (= smux frames) written through it. */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;
  chunksWritten = 0;
  #held: (() => void) | undefined;
  constructor(hwm: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: hwm, writableHighWaterMark: hwm });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer as PipeEnd;
    this.chunksWritten++;
    if (peer.push(chunk)) cb();
    else peer.#held = cb;
  }
  override _read(): void {
    const cb = this.#held;
    this.#held = undefined;
    cb?.();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.peer?.push(null);
    cb();
  }
}

function pipePair(hwm: number): [PipeEnd, PipeEnd] {
  const a = new PipeEnd(hwm);
  const b = new PipeEnd(hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

interface Case {
  name: string;
  version: 1 | 2;
  maxFrameBytes: number;
  streams: number;
  writeBytes: number;
  /** Bytes per stream. */
  bytesPerStream: number;
}

interface Result extends Case {
  totalBytes: number;
  frames: number;
  seconds: number;
  mibPerSec: number;
  framesPerSec: number;
}

async function runCase(c: Case): Promise<Result> {
  const [a, b] = pipePair(1 * MiB);
  const config: Partial<MuxConfig> = { version: c.version, keepAliveDisabled: true, maxFrameBytes: c.maxFrameBytes };
  const client = new MuxSession(a, { role: 'client', config });
  const server = new MuxSession(b, { role: 'server', config });
  let received = 0;
  const done: Array<Promise<unknown>> = [];
  server.on('stream', (s: MuxStream) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
    });
    done.push(once(s, 'end'));
  });
  const payload = Buffer.alloc(c.writeBytes, 0x5a);
  const started = performance.now();
  const writers: Array<Promise<void>> = [];
  for (let i = 0; i < c.streams; i++) {
    const s = client.openStream();
    writers.push(
      (async () => {
        for (let sent = 0; sent < c.bytesPerStream; sent += payload.length) {
          if (!s.write(payload)) await once(s, 'drain');
        }
        s.end();
      })(),
    );
  }
  await Promise.all(writers);
  while (done.length < c.streams) await new Promise<void>((r) => setImmediate(r));
  await Promise.all(done);
  const seconds = (performance.now() - started) / 1000;
  const totalBytes = c.streams * c.bytesPerStream;
  if (received !== totalBytes) throw new Error(`${c.name}: received ${received} of ${totalBytes} bytes`);
  const frames = a.chunksWritten; // every carrier write is one frame (SYN, PSH…, FIN)
  client.close();
  server.close();
  return { ...c, totalBytes, frames, seconds, mibPerSec: totalBytes / MiB / seconds, framesPerSec: frames / seconds };
}

function median(rs: Result[]): Result {
  const sorted = [...rs].sort((x, y) => x.seconds - y.seconds);
  return sorted[Math.floor(sorted.length / 2)] as Result;
}

const scale = QUICK ? 1 / 8 : 1;
const cases: Case[] = [
  {
    name: 'bulk v1, 1 MiB writes, 32 KiB frames',
    version: 1,
    maxFrameBytes: 32_768,
    streams: 1,
    writeBytes: MiB,
    bytesPerStream: 1024 * MiB * scale,
  },
  {
    name: 'bulk v1, 1 MiB writes, 64 KiB frames',
    version: 1,
    maxFrameBytes: 65_535,
    streams: 1,
    writeBytes: MiB,
    bytesPerStream: 1024 * MiB * scale,
  },
  {
    name: 'bulk v2, 1 MiB writes, 32 KiB frames (windows)',
    version: 2,
    maxFrameBytes: 32_768,
    streams: 1,
    writeBytes: MiB,
    bytesPerStream: 1024 * MiB * scale,
  },
  {
    name: 'SSM-sized v1, 1 KiB writes',
    version: 1,
    maxFrameBytes: 32_768,
    streams: 1,
    writeBytes: 1024,
    bytesPerStream: 256 * MiB * scale,
  },
  {
    name: 'small frames v1, 64 B writes',
    version: 1,
    maxFrameBytes: 32_768,
    streams: 1,
    writeBytes: 64,
    bytesPerStream: 32 * MiB * scale,
  },
  {
    name: '1,000 streams v1, 16 KiB writes',
    version: 1,
    maxFrameBytes: 32_768,
    streams: 1000,
    writeBytes: 16 * 1024,
    bytesPerStream: 512 * 1024 * scale,
  },
];

// Warm-up (discarded): let the JIT compile the hot paths before anything is timed.
for (const c of cases)
  await runCase({ ...c, bytesPerStream: Math.max(c.writeBytes, Math.floor(c.bytesPerStream / 16)) });

const results: Result[] = [];
for (const c of cases) {
  const runs: Result[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await runCase(c));
  const m = median(runs);
  results.push(m);
  console.log(
    `${c.name.padEnd(48)} ${(m.totalBytes / MiB).toFixed(0).padStart(5)} MiB  ${m.seconds.toFixed(3).padStart(7)} s  ` +
      `${m.mibPerSec.toFixed(0).padStart(6)} MiB/s  ${Math.round(m.framesPerSec).toLocaleString('en-US').padStart(11)} frames/s`,
  );
}

const here = dirname(fileURLToPath(import.meta.url));
// dist/bench/mux-bench.js → <repo>/bench/results; bench/mux-bench.ts (if run from source) → bench/results
const repo = here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..') : join(here, '..');
const outDir = join(repo, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const cpu = cpus()[0]?.model ?? 'unknown';
const report = {
  benchmark: 'mux',
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpu,
  cpuCount: cpus().length,
  repeats: REPEATS,
  quick: QUICK,
  note: 'In-process client/server MuxSession pair over an in-memory pipe (1 MiB buffers); median of repeats. frames counts every frame the client wrote (SYN, PSH, FIN).',
  results: results.map((r) => ({
    name: r.name,
    version: r.version,
    maxFrameBytes: r.maxFrameBytes,
    streams: r.streams,
    writeBytes: r.writeBytes,
    totalBytes: r.totalBytes,
    frames: r.frames,
    seconds: Number(r.seconds.toFixed(4)),
    mibPerSec: Number(r.mibPerSec.toFixed(1)),
    framesPerSec: Math.round(r.framesPerSec),
  })),
};
writeFileSync(join(outDir, 'mux.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${join(outDir, 'mux.json')}`);
