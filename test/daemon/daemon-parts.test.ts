/** The background process's parts: rotated log, start lock, line splitter, paths, service files. */
import t from 'tap';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RotatingLog, lastSeq, readLog } from '../../src/daemon/log-file.js';
import { acquireStartLock } from '../../src/daemon/lock.js';
import { LineSplitter, MAX_LINE_BYTES } from '../../src/daemon/protocol.js';
import { daemonPaths } from '../../src/daemon/paths.js';
import { serviceFile } from '../../src/daemon/service.js';
import { awsSettingsFromInput, canonical } from '../../src/daemon/aws-input.js';
import { isTunnelError } from '../../src/errors.js';

t.test('the log rotates once at maxBytes: at most two bounded files, records in order', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'tunnel.log');
  const log = new RotatingLog(path, 4096);
  for (let seq = 1; seq <= 500; seq++) {
    log.write({ seq, type: 'daemon', time: new Date(0).toISOString(), message: `line ${seq} ${'x'.repeat(40)}` });
  }
  log.close();
  t.ok(statSync(path).size <= 4096, `current file ${statSync(path).size} bytes`);
  t.ok(statSync(`${path}.1`).size <= 4096, 'rotated file bounded');
  t.notOk(existsSync(`${path}.2`), 'only one rotated file');
  const records = readLog(path);
  t.ok(records.length > 10 && records.length < 500, 'older lines were dropped');
  t.same(
    records.map((r) => r.seq),
    records.map((r) => r.seq).sort((a, b) => a - b),
    'oldest first',
  );
  t.equal(records[records.length - 1]?.seq, 500);
  t.equal(lastSeq(path), 500, 'a restarted process continues the numbering');
  // A torn last line (crash mid-write) is skipped, not fatal.
  writeFileSync(path, `${readFileSync(path, 'utf8')}{"seq":501,"ty`);
  t.equal(readLog(path)[readLog(path).length - 1]?.seq, 500);
  t.equal(statSync(path).mode & 0o777, 0o600, 'log is private');
});

t.test('start lock: exclusive while its holder lives, taken over from a dead holder', async (t) => {
  const path = join(t.testdir({}), 'start.lock');
  const a = await acquireStartLock(path, 1000);
  const err = await acquireStartLock(path, 100, 10).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(isTunnelError(err, 'ERR_DAEMON_START_FAILED'), 'a second taker waits, then gives up with a clear error');
  t.match(String((err as Error).message), `held by pid ${process.pid}`);
  a.release();
  t.notOk(existsSync(path));
  const b = await acquireStartLock(path, 1000);
  b.release();
  writeFileSync(path, '4194305 0123456789abcdef\n');
  const c = await acquireStartLock(path, 1000);
  t.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `), 'stale lock replaced');
  c.release();
  // An empty lock file is a holder between create and write: not stale.
  writeFileSync(path, '');
  const d = await acquireStartLock(path, 50, 10).then(
    () => 'acquired',
    () => 'waited',
  );
  t.equal(d, 'waited');
});

t.test('line splitter: lines across chunks, blank lines skipped, an endless line refused', async (t) => {
  const sp = new LineSplitter();
  const lines: string[] = [];
  sp.push('{"a":1}\n\n{"b"', (l) => lines.push(l));
  sp.push(':2}\n', (l) => lines.push(l));
  t.same(lines, ['{"a":1}', '{"b":2}']);
  t.throws(() => sp.push('x'.repeat(MAX_LINE_BYTES + 1), () => undefined), RangeError);
});

t.test('paths: XDG_RUNTIME_DIR, else the cache dir', async (t) => {
  t.equal(
    daemonPaths({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, homedir: '/h' }).socket,
    '/run/user/1000/tunnel/tunnel.sock',
  );
  t.equal(daemonPaths({ env: { XDG_CACHE_HOME: '/c' }, homedir: '/h' }).dir, '/c/tunnel/run');
  t.equal(daemonPaths({ env: {}, homedir: '/h', platform: 'linux' }).dir, '/h/.cache/tunnel/run');
  t.equal(daemonPaths({ env: {}, homedir: '/h', platform: 'darwin' }).dir, '/h/Library/Caches/tunnel/run');
});

t.test('service files: systemd unit and launchd plist run `tunnel daemon --keep`', async (t) => {
  const o = { scriptPath: '/opt/my tunnel/tunnel.js', homedir: '/home/u', env: {}, execPath: '/usr/bin/node' };
  const unit = serviceFile('systemd', o);
  t.equal(unit.path, '/home/u/.config/systemd/user/tunnel.service');
  t.match(unit.text, /^ExecStart=\/usr\/bin\/node "\/opt\/my tunnel\/tunnel\.js" daemon --keep$/m);
  t.match(unit.text, /^WantedBy=default\.target$/m);
  const plist = serviceFile('launchd', { ...o, scriptPath: '/opt/a&b/tunnel.js' });
  t.equal(plist.path, '/home/u/Library/LaunchAgents/dev.ssm-tunnel.daemon.plist');
  t.match(
    plist.text,
    /<string>\/opt\/a&amp;b\/tunnel\.js<\/string>\s*<string>daemon<\/string>\s*<string>--keep<\/string>/,
  );
});

t.test('AWS input: env credentials unless a profile is named; canonical ignores key order', async (t) => {
  const env = { AWS_ACCESS_KEY_ID: 'AKIAX', AWS_SECRET_ACCESS_KEY: 'sekrit' };
  const s = awsSettingsFromInput({ region: 'eu-west-1', env });
  t.same(await s.credentials?.(), { accessKeyId: 'AKIAX', secretAccessKey: 'sekrit' });
  t.equal(awsSettingsFromInput({ profile: 'dev', env }).credentials, undefined);
  t.equal(canonical({ b: 1, a: [1, { d: 2, c: 3 }] }), canonical({ a: [1, { c: 3, d: 2 }], b: 1 }));
  t.not(canonical({ a: 1 }), canonical({ a: 2 }));
});
