import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  ERROR_CODES,
  TunnelError,
  ConfigError,
  ForwardError,
  MuxError,
  isCodeOf,
  isTunnelError,
} from '../../src/errors.js';

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
  t.equal(new TunnelError('ERR_AWS_API', 'x').code, 'ERR_AWS_API');
  // @ts-expect-error a code belongs to its error class's family: MuxError takes ERR_SMUX_* only
  t.ok(new MuxError('ERR_AWS_API', 'x'));
  // @ts-expect-error ForwardError takes ERR_TUNNEL_* only
  t.ok(new ForwardError('ERR_SESSION_CLOSED', 'x'));
  t.ok(isCodeOf('ERR_SMUX_BAD_VERSION', 'SMUX'));
  t.notOk(isCodeOf('ERR_SESSION_CLOSED', 'SMUX'));
});
