/** docs/cli.md stays in step with the exit-code mapping and the command list. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, TunnelError } from '../../src/errors.js';
import { EXIT, exitCodeFor, exitCodeTable } from '../../src/cli/exit-codes.js';
import { commandNames } from '../../src/cli/main.js';
import { CapturedIo } from './capture-io.js';

const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Exit status'), doc.indexOf('## Recipes'));

function row(status: number): string {
  return section.split('\n').find((l) => l.startsWith(`| ${status} |`)) ?? '';
}

t.test('every mapped error code is listed in the row of its exit status', async (t) => {
  for (const { status, codes } of exitCodeTable()) {
    const r = row(status);
    t.not(r, '', `row for ${status}`);
    for (const c of codes) t.match(r, `\`${c}\``, `${c} under ${status}`);
  }
});

t.test('every code the table names maps to that status', async (t) => {
  const rows = section.split('\n').filter((l) => /^\| \d+ \|/.test(l));
  t.ok(rows.length >= 8);
  for (const r of rows) {
    const status = Number(/^\| (\d+) \|/.exec(r)?.[1]);
    for (const m of r.matchAll(/`(ERR_[A-Z_]+)`/g)) {
      const code = ERROR_CODES.find((c) => c === m[1]);
      t.ok(code, `${m[1]} exists`);
      if (code === undefined || code === 'ERR_CLI_COMMAND_FAILED') continue;
      t.equal(exitCodeFor(new TunnelError(code, 'x')), status, `${code} → ${status}`);
    }
  }
});

t.test('special statuses', async (t) => {
  t.equal(exitCodeFor(new Error('bug')), EXIT.SOFTWARE);
  t.equal(exitCodeFor(new TunnelError('ERR_AWS_API', 'x')), EXIT.FAILURE);
  t.equal(exitCodeFor(new TunnelError('ERR_CLI_COMMAND_FAILED', 'x', { details: { errno: 'ENOENT' } })), 127);
  t.equal(exitCodeFor(new TunnelError('ERR_CLI_COMMAND_FAILED', 'x', { details: { errno: 'EACCES' } })), 126);
  t.match(
    section.split('\n').find((l) => l.startsWith('| 126, 127 |')),
    'ERR_CLI_COMMAND_FAILED',
  );
});

t.test('every command is documented', async (t) => {
  const commands = commandNames(new CapturedIo({ cwd: '/' }));
  t.ok(commands.length >= 8, 'the registered commands');
  for (const c of commands) t.match(doc, new RegExp(`tunnel ${c}\\b`), c);
  t.match(doc, /## Recipes[\s\S]*DB GUI|database GUI/i);
});
