/**
 * The demo's self-check, run through the forwards: echo round trips (latency), an HTTP GET,
 * and a download and an upload whose SHA-256 is compared end to end (throughput).
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Clock } from '../../clock.js';
import type { Endpoint } from './run-impl.js';

export interface CheckResult {
  check: string;
  ok: boolean;
  /** One-line human summary. */
  summary: string;
  metrics: Record<string, number | string>;
}

function withTimeout<T>(clock: Clock, ms: number, what: string, p: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** `rounds` sequential 64-byte messages through the echo forward, each timed. */
export async function echoCheck(clock: Clock, ep: Endpoint, rounds = 32): Promise<CheckResult> {
  const rtts: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: ep.host, port: ep.port });
    let expected = Buffer.alloc(0);
    let got = Buffer.alloc(0);
    let sentAt = 0;
    let round = 0;
    const sendNext = (): void => {
      expected = randomBytes(64);
      got = Buffer.alloc(0);
      sentAt = clock.now();
      socket.write(expected);
    };
    socket.on('connect', sendNext);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < expected.length) return;
      if (!got.subarray(0, expected.length).equals(expected)) {
        socket.destroy();
        reject(new Error('echo returned different bytes'));
        return;
      }
      rtts.push(clock.now() - sentAt);
      if (++round >= rounds) {
        socket.end();
        resolve();
      } else sendNext();
    });
    socket.on('error', reject);
    socket.on('close', () =>
      round < rounds ? reject(new Error(`echo connection closed after ${round} round trips`)) : undefined,
    );
  });
  const sorted = [...rtts].sort((a, b) => a - b);
  const p50 = quantile(sorted, 0.5);
  const max = sorted[sorted.length - 1] ?? 0;
  return {
    check: 'echo',
    ok: true,
    summary: `${rounds} round trips of 64 B: median ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    metrics: { rounds, medianMs: Number(p50.toFixed(3)), maxMs: Number(max.toFixed(3)) },
  };
}

interface HttpResult {
  status: number;
  body: Buffer;
}

function httpCall(ep: Endpoint, method: string, path: string, body?: Buffer): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: ep.host,
        port: ep.port,
        method,
        path,
        agent: false,
        headers: body === undefined ? {} : { 'content-length': String(body.length) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Deterministic bytes the demo web server serves at /bytes/N. */
function expectedDownload(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function httpCheck(ep: Endpoint): Promise<CheckResult> {
  const r = await httpCall(ep, 'GET', '/');
  const ok = r.status === 200 && r.body.toString().startsWith('hello');
  return {
    check: 'http',
    ok,
    summary: `GET / → ${r.status} ${JSON.stringify(r.body.toString().trim().slice(0, 40))}`,
    metrics: { status: r.status },
  };
}

function mibps(bytes: number, ms: number): number {
  return ms <= 0 ? 0 : Number((bytes / 1048576 / (ms / 1000)).toFixed(2));
}

export async function downloadCheck(clock: Clock, ep: Endpoint, bytes: number): Promise<CheckResult> {
  const t0 = clock.now();
  const r = await httpCall(ep, 'GET', `/bytes/${bytes}`);
  const ms = clock.now() - t0;
  const ok = r.status === 200 && r.body.length === bytes && sha256(r.body) === sha256(expectedDownload(bytes));
  const rate = mibps(r.body.length, ms);
  return {
    check: 'download',
    ok,
    summary: `${r.body.length} B in ${ms.toFixed(0)} ms (${rate} MiB/s), sha256 ${ok ? 'matches' : 'DIFFERS'}`,
    metrics: { bytes: r.body.length, ms: Math.round(ms), mibPerSecond: rate, sha256: sha256(r.body) },
  };
}

export async function uploadCheck(clock: Clock, ep: Endpoint, bytes: number): Promise<CheckResult> {
  const payload = randomBytes(bytes);
  const want = sha256(payload);
  const t0 = clock.now();
  const r = await httpCall(ep, 'POST', '/sha256', payload);
  const ms = clock.now() - t0;
  const got = r.body.toString().trim();
  const ok = r.status === 200 && got === want;
  const rate = mibps(bytes, ms);
  return {
    check: 'upload',
    ok,
    summary: `${bytes} B in ${ms.toFixed(0)} ms (${rate} MiB/s), sha256 ${ok ? 'matches' : 'DIFFERS'}`,
    metrics: { bytes, ms: Math.round(ms), mibPerSecond: rate, sha256: want },
  };
}

/** Run every check; a check that throws or times out is a failed result, not an exception. */
export async function runChecks(
  clock: Clock,
  echo: Endpoint,
  web: Endpoint,
  bytes: number,
  timeoutMs = 15_000,
): Promise<CheckResult[]> {
  const attempts: Array<[string, () => Promise<CheckResult>]> = [
    ['echo', () => echoCheck(clock, echo)],
    ['http', () => httpCheck(web)],
    ['download', () => downloadCheck(clock, web, bytes)],
    ['upload', () => uploadCheck(clock, web, bytes)],
  ];
  const results: CheckResult[] = [];
  for (const [name, fn] of attempts) {
    try {
      results.push(await withTimeout(clock, timeoutMs, name, fn()));
    } catch (e) {
      results.push({
        check: name,
        ok: false,
        summary: `failed: ${e instanceof Error ? e.message : String(e)}`,
        metrics: {},
      });
    }
  }
  return results;
}
