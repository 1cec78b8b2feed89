/**
 * `tunnel hosts --write/--remove` keep to their marked block (issue #19): everything else in the
 * file stays byte for byte (CRLF files too), a backup is made first, a block without its end line
 * is refused, and without the rights to write the file nothing changes and the error says why.
 */
import t from 'tap';
import { chmodSync, chownSync, existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { BLOCK_BEGIN, BLOCK_END, replaceBlock, updateHostsFile } from '../../src/cli/hosts-file.js';
import { plannedLoopbacks, preferredLoopback } from '../../src/cli/bind-auto.js';
import { BIN, tunnelRun } from '../helpers/tunnel-proc.js';
import { otherUserSkip } from '../helpers/other-user.js';

const ORIGINAL = '127.0.0.1 localhost\n# a comment the user wrote\n10.0.0.5   db.internal\n';

t.test('replaceBlock: append, replace, remove; nothing outside the block changes', async (t) => {
  const once = replaceBlock(ORIGINAL, ['127.0.0.5  a.example  # tunnel forward a']);
  t.ok(once.startsWith(ORIGINAL));
  t.equal(once.slice(ORIGINAL.length), `${BLOCK_BEGIN}\n127.0.0.5  a.example  # tunnel forward a\n${BLOCK_END}\n`);
  const withTail = `${once}# after the block\n`;
  const twice = replaceBlock(withTail, ['127.0.0.6  b.example']);
  t.equal(
    twice,
    `${ORIGINAL}${BLOCK_BEGIN}\n127.0.0.6  b.example\n${BLOCK_END}\n# after the block\n`,
    'only the block changed',
  );
  t.equal(replaceBlock(twice, undefined), `${ORIGINAL}# after the block\n`, 'remove takes out the block only');
  t.equal(replaceBlock(ORIGINAL, undefined), ORIGINAL, 'remove without a block changes nothing');
  const noNewline = '127.0.0.1 localhost';
  t.equal(replaceBlock(noNewline, ['x']), `127.0.0.1 localhost\n${BLOCK_BEGIN}\nx\n${BLOCK_END}\n`);
  const crlf = '127.0.0.1 localhost\r\n::1 localhost\r\n';
  const c = replaceBlock(crlf, ['127.0.0.9 c.example']);
  t.equal(c, `${crlf}${BLOCK_BEGIN}\r\n127.0.0.9 c.example\r\n${BLOCK_END}\r\n`, 'CRLF files keep CRLF');
  t.equal(replaceBlock(c, undefined), crlf);
  t.throws(
    () => replaceBlock(`${ORIGINAL}${BLOCK_BEGIN}\n1.2.3.4 x\n`, ['y']),
    { code: 'ERR_CLI_HOSTS_FILE' },
    'an unterminated block is refused',
  );
});

t.test('updateHostsFile: backup first, idempotent, remove', async (t) => {
  const dir = t.testdir({ hosts: ORIGINAL });
  const path = join(dir, 'hosts');
  t.equal(await updateHostsFile(path, ['127.0.0.7 d.example']), 'written');
  t.equal(readFileSync(`${path}.tunnel-backup`, 'utf8'), ORIGINAL, 'backup of the file before');
  t.equal(await updateHostsFile(path, ['127.0.0.7 d.example']), 'unchanged');
  t.equal(await updateHostsFile(path, undefined), 'removed');
  t.equal(readFileSync(path, 'utf8'), ORIGINAL);
});

t.test('bind: auto addresses are stable per name and distinct per run', async (t) => {
  t.equal(preferredLoopback('db'), preferredLoopback('db'), 'the same name, the same address');
  t.match(preferredLoopback('db'), /^127\.0\.0\.(\d+)$/);
  t.not(preferredLoopback('db'), '127.0.0.1');
  const many = plannedLoopbacks(Array.from({ length: 200 }, (_, i) => `f${i}`));
  t.equal(new Set(many.values()).size, 200, 'collisions take the next free address');
});

const asRoot = userInfo().uid === 0;
t.test(
  'tunnel hosts --write without the rights to write the file: refused, nothing changed',
  // As root the CLI runs as nobody, which must reach node and the checkout.
  { skip: asRoot ? otherUserSkip(BIN) : false },
  async (t) => {
    const dir = t.testdir({
      hosts: ORIGINAL,
      '.tunnel.yaml':
        'forwards:\n  db:\n    target: i-0123456789abcdef0\n    host: db.example.com\n    remotePort: 5432\n    bind: auto\n',
    });
    const path = join(dir, 'hosts');
    chmodSync(dir, 0o755);
    chmodSync(join(dir, '.tunnel.yaml'), 0o644);
    // As root, permissions do not stop a write: run the CLI as nobody against a root-owned file.
    const root = userInfo().uid === 0;
    if (root) chownSync(path, 0, 0);
    chmodSync(path, 0o644);
    if (!root) chmodSync(path, 0o444);
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      TUNNEL_HOSTS_FILE: path,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const as = root ? { uid: 65534, gid: 65534 } : {};
    const printed = await tunnelRun(t, ['--no-user-config', 'hosts'], { cwd: dir, env, ...as });
    t.equal(printed.code, 0, printed.stderr);
    t.match(
      printed.stdout,
      /^127\.0\.0\.\d+\s+db\.example\.com\s+# tunnel forward db$/m,
      'host: forwards are mapped too',
    );
    const r = await tunnelRun(t, ['--no-user-config', 'hosts', '--write'], { cwd: dir, env, ...as });
    t.equal(r.code, 77, 'exit 77 (permission)');
    t.match(r.stderr, /cannot write .*hosts \(permission denied\); nothing was changed/);
    t.match(r.stderr, /sudo tunnel hosts --write/);
    t.match(r.stderr, /ERR_CLI_HOSTS_FILE/);
    t.equal(readFileSync(path, 'utf8'), ORIGINAL, 'the file is unchanged');
    t.notOk(existsSync(`${path}.tunnel-backup`), 'no backup either');
    const rm = await tunnelRun(t, ['--no-user-config', 'hosts', '--write', '--remove'], { cwd: dir, env, ...as });
    t.equal(rm.code, 2, '--write and --remove together: usage error');
  },
);
