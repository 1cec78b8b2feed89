/** Small text formatters shared by the renderers. */

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i] ?? 'TiB'}`;
}

/** Compact size for the live table: `512B`, `1.5K`, `50M`, `3.0G` (binary units). */
export function formatBytesShort(n: number): string {
  if (n < 1024) return `${Math.round(n)}B`;
  const units = ['K', 'M', 'G', 'T'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i] ?? 'T'}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** `127.0.0.1:5432`, `[::1]:5432`. */
export function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** Left-aligned columns; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `text` cut to `width` characters, the cut marked with `…`. */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1).trimEnd()}…`;
}

/**
 * `table(rows)` made to fit `width` columns: the columns in `shrinkable` are cut with `…`, in
 * that order, each down to its minimum before the next gives way; the other columns (numbers,
 * states) keep their full text.
 */
export function fitTable(
  rows: readonly (readonly string[])[],
  width: number,
  shrinkable: readonly number[],
  minWidth: number | readonly number[] = 8,
): string[] {
  const min = (k: number): number => (typeof minWidth === 'number' ? minWidth : (minWidth[k] ?? 8));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const total = widths.reduce((a, w) => a + w, 0) + 2 * Math.max(0, widths.length - 1);
  let excess = total - width;
  shrinkable.forEach((col, k) => {
    if (excess <= 0) return;
    const w = widths[col] ?? 0;
    const cut = Math.min(excess, Math.max(0, w - min(k)));
    widths[col] = w - cut;
    excess -= cut;
  });
  return table(rows.map((r) => r.map((c, i) => truncate(c, widths[i] ?? c.length))));
}
