import t from 'tap';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, TunnelError, ConfigError, isTunnelError } from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

t.test('every error code is documented exactly once in docs/errors.md', async (t) => {
  for (const code of ERROR_CODES) {
    const rows = doc.split('\n').filter((l) => l.startsWith(`| \`${code}\``));
    t.equal(rows.length, 1, `${code} has one row`);
  }
});

t.test('docs/errors.md lists no code that does not exist', async (t) => {
  const known = new Set<string>(ERROR_CODES);
  for (const m of doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)`/gm)) t.ok(known.has(m[1] as string), `${m[1]} exists`);
});

t.test('isTunnelError checks class and code', async (t) => {
  const e = new ConfigError('ERR_CONFIG_INVALID', 'bad', [{ path: 'forwards.db', message: 'x' }]);
  t.ok(isTunnelError(e));
  t.ok(isTunnelError(e, 'ERR_CONFIG_INVALID'));
  t.notOk(isTunnelError(e, 'ERR_CONFIG_PARSE'));
  t.notOk(isTunnelError(new Error('plain')));
  t.notOk(isTunnelError(undefined));
  t.equal(e.name, 'ConfigError');
  t.equal(new TunnelError('ERR_AWS_API', 'x').wireAction.kind, 'none');
});
