/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and ranks functions by self time.
 * Format: `nodes[]` (id, callFrame {functionName, url, lineNumber}, children), `samples[]`
 * (node id per sample) and `timeDeltas[]` (µs before each sample). Sample i's duration is taken
 * as timeDeltas[i + 1] (the time until the next sample), the usual reading of the format.
 */
import { readFileSync } from 'node:fs';

export interface ProfileEntry {
  functionName: string;
  location: string;
  selfMs: number;
  /** Share of all non-idle samples, in percent. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  gcMs: number;
  top: ProfileEntry[];
  /** Self time grouped by source file / module. */
  byFile: Array<{ location: string; selfMs: number; percent: number }>;
  /** Inclusive (self + callees) time of the project's own functions. */
  inclusive: ProfileEntry[];
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
}

function isProfile(v: unknown): v is CpuProfile {
  const p = v as Partial<CpuProfile>;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(p.nodes) &&
    Array.isArray(p.samples) &&
    Array.isArray(p.timeDeltas)
  );
}

/** Shorten a profile URL: project files as `src/…`, packages as `pkg/…`, Node internals as is. */
export function shortLocation(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length).replace(/\.js$/, '.ts');
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(path: string, topN = 15): ProfileSummary {
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isProfile(raw)) throw new Error(`${path} is not a .cpuprofile`);
  const byId = new Map<number, CpuNode>();
  const parent = new Map<number, number>();
  for (const n of raw.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const incl = new Map<string, { fn: string; loc: string; us: number }>();
  const self = new Map<string, { fn: string; loc: string; us: number }>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  const avg = raw.timeDeltas.length > 0 ? raw.timeDeltas.reduce((a, b) => a + b, 0) / raw.timeDeltas.length : 0;
  for (let i = 0; i < raw.samples.length; i++) {
    const node = byId.get(raw.samples[i] as number);
    if (node === undefined) continue;
    const dt = raw.timeDeltas[i + 1] ?? avg;
    const fn = node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName;
    if (fn === '(idle)') {
      idleUs += dt;
      continue;
    }
    if (fn === '(garbage collector)') gcUs += dt;
    totalUs += dt;
    const loc = shortLocation(node.callFrame.url);
    const key = `${fn}@${loc}:${node.callFrame.lineNumber}`;
    const e = self.get(key) ?? {
      fn,
      loc: node.callFrame.url === '' ? loc : `${loc}:${node.callFrame.lineNumber + 1}`,
      us: 0,
    };
    e.us += dt;
    self.set(key, e);
    files.set(loc, (files.get(loc) ?? 0) + dt);
    // Inclusive: charge every distinct frame on this sample's stack once.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id);
      if (f === undefined) break;
      const floc = shortLocation(f.callFrame.url);
      if (!floc.startsWith('src/')) continue;
      const ffn = f.callFrame.functionName === '' ? '(anonymous)' : f.callFrame.functionName;
      const k = `${ffn}@${floc}:${f.callFrame.lineNumber}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const e = incl.get(k) ?? { fn: ffn, loc: `${floc}:${f.callFrame.lineNumber + 1}`, us: 0 };
      e.us += dt;
      incl.set(k, e);
    }
  }
  const pct = (us: number): number => (totalUs > 0 ? (100 * us) / totalUs : 0);
  const top = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ functionName: e.fn, location: e.loc, selfMs: e.us / 1000, percent: pct(e.us) }));
  const byFile = [...files.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([location, us]) => ({ location, selfMs: us / 1000, percent: pct(us) }));
  const inclusive = [...incl.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ functionName: e.fn, location: e.loc, selfMs: e.us / 1000, percent: pct(e.us) }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, gcMs: gcUs / 1000, top, byFile, inclusive };
}
