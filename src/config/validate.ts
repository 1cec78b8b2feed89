/**
 * `validateConfig(value, source)`: one document, structural and cross-entry checks, every issue
 * reported at once. `finishConfig(results)` does the same for several merged layers.
 */
import { ConfigError } from '../errors.js';
import type { ConfigIssue } from '../errors.js';
import { checkConfig } from './check.js';
import { mergeConfig } from './merge.js';
import { validateLayer } from './schema.js';
import type { ConfigLayer, TunnelConfig } from './schema.js';
import { plainSource } from './source.js';
import type { ConfigSource } from './source.js';

export interface LayerResult {
  layer: ConfigLayer;
  issues: ConfigIssue[];
}

/** Merge already-validated layers (lowest precedence first), run the cross checks, throw on any issue. */
export function finishConfig(results: readonly LayerResult[]): TunnelConfig {
  const config = mergeConfig(...results.map((r) => r.layer));
  const issues = [...results.flatMap((r) => r.issues), ...checkConfig(config)];
  if (issues.length > 0) throw invalidConfig(issues);
  return config;
}

/** Validate a single config document (defaults filled in). Throws `ConfigError` listing every issue. */
export function validateConfig(value: unknown, source: ConfigSource = plainSource(value)): TunnelConfig {
  return finishConfig([validateLayer(source.value === value ? source : { ...source, value })]);
}

export function invalidConfig(issues: readonly ConfigIssue[]): ConfigError {
  const n = issues.length;
  return new ConfigError(
    'ERR_CONFIG_INVALID',
    `invalid configuration: ${n} problem${n === 1 ? '' : 's'}`,
    sortIssues(issues),
  );
}

/**
 * Issues in reading order: grouped by file (in the order files first appear), then by line and
 * column; issues without a position (flags, environment) keep their order after those with one.
 */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const fileRank = new Map<string, number>();
  for (const i of issues) if (!fileRank.has(i.file ?? '')) fileRank.set(i.file ?? '', fileRank.size);
  const key = (i: ConfigIssue): [number, number, number] => [
    fileRank.get(i.file ?? '') ?? 0,
    i.line ?? Number.MAX_SAFE_INTEGER,
    i.column ?? 0,
  ];
  // Array.prototype.sort is stable: equal keys keep their order.
  return [...issues].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
  });
}

/** `file:line:col: path: message (hint)`, one line per issue. */
export function formatIssue(issue: ConfigIssue): string {
  const where = [issue.file, issue.line, issue.column].filter((x) => x !== undefined).join(':');
  const head = [where, issue.path].filter((x) => x !== undefined && x !== '').join(': ');
  return `${head === '' ? '' : `${head}: `}${issue.message}${issue.hint === undefined ? '' : ` (${issue.hint})`}`;
}
