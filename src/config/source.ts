/**
 * Parsed config text plus a way to find where a value sits in it.
 *
 * YAML and JSON both go through `yaml`'s `parseDocument` (JSON is a YAML 1.2 subset), so a
 * `.tunnel.json` gets the same line/column positions and duplicate-key detection as YAML.
 * No I/O here: `load.ts` reads the file and hands the text over.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { ConfigError } from '../errors.js';
import type { ConfigIssue } from '../errors.js';
import { maskedExcerpt, shortText } from './text.js';

/** Alias expansions allowed while building the value (guards against "billion laughs"). */
export const MAX_ALIAS_COUNT = 100;
/** Syntax errors listed before "… and N more". */
const MAX_PARSE_ISSUES = 10;

export type ConfigPath = readonly (string | number)[];

export interface Location {
  file?: string;
  line?: number;
  column?: number;
}

/** One config document: its plain value, and where each path of it came from. */
export interface ConfigSource {
  /** File name as shown in messages; undefined for values built in code (flags, env). */
  readonly file?: string;
  readonly value: unknown;
  /** Position of the key (`part: 'key'`) or the value at `path`; falls back to the nearest parent. */
  locate(path: ConfigPath, part?: 'key' | 'value'): Location;
}

/** A source for a value that has no text (tests, `--json` inputs, env): positions unknown. */
export function plainSource(value: unknown, file?: string): ConfigSource {
  return {
    ...(file === undefined ? {} : { file }),
    value,
    locate: () => (file === undefined ? {} : { file }),
  };
}

/** `forwards.db.localPort`, `groups.dev[1]`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/**
 * Parse YAML/JSON text. Syntax errors (all of them, with positions) throw
 * `ConfigError(ERR_CONFIG_PARSE)`. An empty file is an empty mapping.
 */
export function parseConfigText(text: string, file?: string): ConfigSource {
  const lineCounter = new LineCounter();
  // uniqueKeys (default) makes a repeated key an error with its position.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Location => {
    const { line, col } = lineCounter.linePos(offset);
    return { ...(file === undefined ? {} : { file }), line, column: col };
  };
  if (doc.errors.length > 0) {
    const lines = text.split('\n');
    // A file that is not YAML at all can yield thousands of errors: the first few say enough.
    const shown = doc.errors.slice(0, MAX_PARSE_ISSUES);
    const excerpt = (line: number | undefined): string => {
      const l = line === undefined ? '' : (lines[line - 1] ?? '');
      return l.trim() === '' ? '' : `; line ${line ?? '?'} starts ${maskedExcerpt(l)}`;
    };
    const issues: ConfigIssue[] = shown.map((e) => ({
      ...at(e.pos[0]),
      path: '',
      // The yaml message plus a short masked excerpt of the line: the file may be the wrong one
      // (credentials, .env) and its values must not be printed.
      message: `${shortText(firstLine(e.message), 160)}${excerpt(at(e.pos[0]).line)}`,
      hint:
        e.code === 'DUPLICATE_KEY'
          ? 'each key may appear once in a mapping'
          : 'check the indentation and quoting on this line',
    }));
    if (doc.errors.length > shown.length)
      issues.push({
        ...(file === undefined ? {} : { file }),
        path: '',
        message: `… and ${doc.errors.length - shown.length} more syntax errors`,
        hint: 'is this the right file?',
      });
    throw new ConfigError('ERR_CONFIG_PARSE', `${file ?? 'config'}: not valid YAML/JSON`, issues);
  }
  let value: unknown;
  try {
    value = doc.contents === null ? {} : doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount ("billion laughs").
    if (!(e instanceof ReferenceError)) throw e;
    throw new ConfigError('ERR_CONFIG_PARSE', `${file ?? 'config'}: too many alias expansions`, [
      {
        ...(file === undefined ? {} : { file }),
        path: '',
        message: `too many alias expansions: aliases (*name) expand to too many nodes (yaml: ${shortText(firstLine(e.message), 80)})`,
        hint: `a config needs few anchors and aliases; at most ${MAX_ALIAS_COUNT} alias expansions are allowed`,
      },
    ]);
  }

  const locate = (path: ConfigPath, part: 'key' | 'value' = 'value'): Location => {
    let node: unknown = doc.contents;
    let best: Location = file === undefined ? {} : { file };
    if (node !== null && isNodeWithRange(node)) best = at(node.range[0]);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (pair === undefined) return best;
        const keyNode = pair.key;
        if (last && part === 'key' && isNodeWithRange(keyNode)) return at(keyNode.range[0]);
        const v = pair.value;
        if (isNodeWithRange(v)) best = at(v.range[0]);
        else if (isNodeWithRange(keyNode)) best = at(keyNode.range[0]);
        node = v;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (!isNodeWithRange(item)) return best;
        best = at(item.range[0]);
        node = item;
      } else {
        return best;
      }
    }
    return best;
  };
  return { ...(file === undefined ? {} : { file }), value, locate };
}

function isNodeWithRange(n: unknown): n is YamlNode & { range: [number, number, number] } {
  if (typeof n !== 'object' || n === null || !('range' in n)) return false;
  const r = n.range;
  return Array.isArray(r) && typeof r[0] === 'number';
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}
