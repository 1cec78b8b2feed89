/**
 * docs/bad-inputs.md and the bad-input tests stay in step: at least 30 rows, every CLI case has a
 * row with its code and exit status, every row has a case or a test (any *.test.ts here) with its id.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLI_CASES } from './cli-cases.js';

const root = resolve(import.meta.dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'bad-inputs.md'), 'utf8');
// Rows that are not CLI cases are tested in one of this directory's *.test.ts files, by id.
const wireTests = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.test.ts') && f !== 'doc.test.ts')
  .map((f) => readFileSync(join(import.meta.dirname, f), 'utf8'))
  .join('\n');

interface Row {
  id: string;
  code: string;
  exit: string;
}
const rows: Row[] = doc
  .split('\n')
  .filter((l) => /^\| [a-z][a-z0-9-]+ \|/.test(l) && !l.startsWith('| id |'))
  .map((l) => {
    const cells = l.split('|').map((c) => c.trim());
    return {
      id: cells[1] ?? '',
      code: (cells[cells.length - 3] ?? '').replace(/`/g, ''),
      exit: cells[cells.length - 2] ?? '',
    };
  });

t.test('docs/bad-inputs.md has at least 30 rows, each backed by a test', async (t) => {
  t.ok(rows.length >= 30, `${rows.length} rows`);
  t.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'ids are unique');
  for (const r of rows) {
    const cli = CLI_CASES.find((c) => c.id === r.id);
    if (cli !== undefined) {
      t.equal(r.code, cli.expect.code, `${r.id}: code in the doc = code the test expects`);
      t.equal(r.exit, String(cli.expect.exit), `${r.id}: exit status in the doc = status the test expects`);
    } else {
      t.ok(wireTests.includes(`'${r.id}`) || wireTests.includes(`${r.id}:`), `${r.id}: a wire test is named after it`);
    }
  }
  for (const c of CLI_CASES)
    t.ok(
      rows.some((r) => r.id === c.id),
      `CLI case ${c.id} has a row`,
    );
});
