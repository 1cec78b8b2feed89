/** src/loopback.ts: the one policy for "this machine", and that no other module has its own. */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isLoopbackIp, isLoopbackName } from '../src/loopback.js';

t.test('IP literals: 127.0.0.0/8 and ::1 in any spelling, IPv4-mapped too', async (t) => {
  const yes = [
    '127.0.0.1',
    '127.255.255.254',
    '127.0.0.2',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '0000:0000:0000:0000:0000:0000:0000:0001',
    '0:0::1',
    '::0:1',
    '::ffff:127.0.0.1',
    '[::ffff:127.1.2.3]',
    '::FFFF:127.0.0.1',
  ];
  for (const h of yes) t.ok(isLoopbackIp(h), h);
  const no = [
    'localhost',
    '',
    '10.0.0.1',
    '128.0.0.1',
    '0.0.0.0',
    '::',
    '::2',
    '1::1',
    '[::ffff:10.0.0.1]',
    '127.0.0.1.evil.com',
    '127.1',
    'fe80::1',
    '::1%lo',
    'constructor',
  ];
  for (const h of no) t.notOk(isLoopbackIp(h), JSON.stringify(h));
});

t.test('names: the literals above, or localhost', async (t) => {
  for (const h of ['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '[::1]']) t.ok(isLoopbackName(h), h);
  for (const h of ['localhost.evil.com', 'mylocalhost', 'example.com', '10.1.1.1', '']) t.notOk(isLoopbackName(h), h);
});

t.test('no other source file decides what loopback is', async (t) => {
  const root = join(import.meta.dirname, '..', 'src');
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => {
      const p = join(d, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  for (const f of walk(root)) {
    if (f.endsWith(join('src', 'loopback.ts'))) continue;
    const text = readFileSync(f, 'utf8');
    t.notMatch(text, /function isLoopback\w*\s*\(/, `${f} defines no loopback predicate of its own`);
  }
});
