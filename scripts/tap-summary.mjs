// A tap reporter for `npm test` through a pipe (CI logs, `| less`): instead of the raw TAP
// stream (thousands of lines), a line per 25 files, every failure in full, and a closing count:
//   tests: 2301 passed, 0 failed, 3 skipped, 0 todo (121 files, 412 s)
// tap loads it with `--reporter=./scripts/tap-summary.mjs` (see scripts/test.mjs): the default
// export is a stream class that receives the raw TAP and writes the report.
import { Transform } from 'node:stream';
import { Parser } from 'tap-parser';

/** A failure's diagnostics (YAML from the TAP stream), indented, at most `max` lines. */
function diagLines(diag, max = 40) {
  if (diag === null || typeof diag !== 'object') return [];
  const lines = [];
  for (const [k, v] of Object.entries(diag)) {
    if (k === 'stack' || k === 'at' || k === 'source') continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    const parts = String(text).split('\n');
    lines.push(`    ${k}: ${parts[0]}`);
    for (const p of parts.slice(1)) lines.push(`      ${p}`);
  }
  const at = diag.at;
  if (at && typeof at === 'object' && at.fileName) lines.push(`    at: ${at.fileName}:${at.lineNumber ?? '?'}`);
  if (lines.length > max) return [...lines.slice(0, max), `    … ${lines.length - max} more lines`];
  return lines;
}

export default class TapSummary extends Transform {
  #parser = new Parser();
  #started = Date.now();
  #counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  #files = 0;
  #failedFiles = [];
  #bailout;

  constructor() {
    super();
    this.#watch(this.#parser, [], true);
    this.#parser.on('bailout', (reason) => (this.#bailout = reason || 'bailed out'));
  }

  #say(line) {
    this.push(`${line}\n`);
  }

  /** Follow one TAP stream (the root, a file, a subtest); returns its failure counter. */
  #watch(parser, path, top) {
    const state = { fails: 0, lastChild: undefined };
    const fail = (name, diag) => {
      this.#counts.fail++;
      for (let p = state; p !== undefined; p = p.parent) p.fails++;
      this.#say(`FAIL ${[...path, name].join(' > ')}`);
      for (const l of diagLines(diag)) this.#say(l);
    };
    parser.on('child', (child) => {
      state.lastChild = this.#watch(child, [...path, child.name || '(subtest)'], false);
      state.lastChild.parent = state;
    });
    parser.on('assert', (r) => {
      const failed = !r.ok && !r.todo && !r.skip;
      if (r.closingTestPoint) {
        // A file's or subtest's own line: its assertions were counted as they came. One that
        // failed with no failing assertion of its own (crash, timeout, exit status) counts once.
        const child = state.lastChild;
        state.lastChild = undefined;
        if (failed && (child === undefined || child.fails === 0)) fail(r.name, r.diag);
        if (top) {
          this.#files++;
          if (failed) this.#failedFiles.push(r.name);
          if (this.#files % 25 === 0) this.#say(`… ${this.#files} files done, ${this.#counts.fail} failed so far`);
        }
        return;
      }
      if (r.todo) this.#counts.todo++;
      else if (r.skip) this.#counts.skip++;
      else if (r.ok) this.#counts.pass++;
      else fail(r.name, r.diag);
    });
    return state;
  }

  _transform(chunk, _encoding, callback) {
    this.#parser.write(chunk);
    callback();
  }

  _flush(callback) {
    this.#parser.end();
    const c = this.#counts;
    const secs = Math.round((Date.now() - this.#started) / 1000);
    if (this.#bailout !== undefined) this.#say(`BAILED OUT: ${this.#bailout}`);
    if (this.#failedFiles.length > 0) this.#say(`failed files: ${this.#failedFiles.join(', ')}`);
    this.#say(
      `tests: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped, ${c.todo} todo (${this.#files} files, ${secs} s)`,
    );
    callback();
  }
}
