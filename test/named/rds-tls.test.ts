/**
 * Issue #19 done-when, through the built CLI against the emulator: `tunnel rds:NAME` and a config
 * `rds:` forward carry a real `psql` session with `sslmode=verify-full` against a PostgreSQL whose
 * certificate names the emulated RDS endpoint (test CA made here), on a `bind: auto` address that
 * `tunnel hosts --write` maps that name to in a temporary hosts file; `tunnel token` and
 * `tunnel run` (iam: true) give tokens that verify as SigV4 presigned `rds-db:connect` URLs.
 *
 * psql resolves `host=` through the system resolver, so the connection strings give the bind
 * address as `hostaddr=` and the RDS name as `host=` (what TLS checks); the test checks
 * separately that the hosts block maps exactly that name to exactly that address.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { cliProcessEnv } from '../helpers/emulator.js';
import { tunnelProc, tunnelRun, BIN } from '../helpers/tunnel-proc.js';
import { checkRdsToken } from '../helpers/sigv4-presigned.js';
import { startTlsPostgres, tlsPostgresUnavailable, type TlsPostgres } from '../helpers/tls-postgres.js';

const RDS_HOST = 'orders.c0emulator1x.us-east-1.rds.amazonaws.com';
const SECRET = 'RDSTLSSECRETmarker0123456789abcdefghijklm';

function psql(conninfo: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'psql',
      [conninfo, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      { timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', PGCONNECT_TIMEOUT: '20' } },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

async function emulatorFor(t: Test, pg: TlsPostgres): Promise<Emulator> {
  const emu = await startEmulator({
    credentials: { accessKeyId: 'AKIARDSTLSTEST000001', secretAccessKey: SECRET },
    rds: {
      instances: [
        { id: 'orders', engine: 'postgres', port: 5432, iamAuth: true, to: { host: '127.0.0.1', port: pg.port } },
      ],
    },
  });
  t.teardown(() => emu.close());
  return emu;
}

const unavailable = await tlsPostgresUnavailable();

t.test(
  'rds:NAME and a config rds: forward: psql sslmode=verify-full, bind: auto, hosts block',
  { skip: unavailable },
  async (t) => {
    const pg = await startTlsPostgres(t, RDS_HOST);
    const emu = await emulatorFor(t, pg);
    const dir = t.testdir({
      '.tunnel.yaml': [
        'bastion: demo',
        'forwards:',
        '  db:',
        '    rds: orders',
        '    bind: auto',
        '    user: app',
        '    iam: true',
        '',
      ].join('\n'),
    });
    const hostsFile = join(dir, 'hosts');
    const original = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n# keep me\n';
    writeFileSync(hostsFile, original);
    const env = cliProcessEnv(emu, dir, { TUNNEL_HOSTS_FILE: hostsFile });

    const verifyFull = async (t: Test, label: string, addr: string): Promise<void> => {
      const conn = `host=${RDS_HOST} hostaddr=${addr} port=5432 user=postgres dbname=postgres sslmode=verify-full sslrootcert=${pg.caFile}`;
      const q = await psql(conn, 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()');
      t.equal(q.code, 0, `${label}: psql verify-full exits 0 (${q.stderr.trim()})`);
      t.match(q.stdout.trim(), /^t\|TLSv1\.[23]$/, `${label}: the session is TLS`);
      // The check is real: the same server under another name fails verify-full.
      const wrong = await psql(conn.replace(`host=${RDS_HOST}`, 'host=other.example.com'), 'select 1');
      t.not(wrong.code, 0, `${label}: verify-full against another name fails`);
      t.match(wrong.stderr, /does not match host name|certificate/i, `${label}: because of the certificate name`);
    };

    await t.test('config forward `db` (bastion: demo, rds: orders, bind: auto)', async (t) => {
      const p = tunnelProc(t, ['--no-user-config', 'up', 'db'], { cwd: dir, env });
      const m = await p.waitFor(/^db\s+(127\.0\.0\.\d+):5432 -> i-0123456789abcdef0 (\S+):5432$/m);
      const addr = m[1] ?? '';
      t.not(addr, '127.0.0.1', 'bind: auto took an address of its own');
      t.equal(m[2], RDS_HOST, 'the bastion dials the RDS endpoint');
      t.match(
        p.stdout() + p.stderr(),
        /db: DB instance orders \(postgres\) at orders\.\S+:5432/,
        'says what it resolved',
      );

      const printed = await tunnelRun(t, ['--no-user-config', 'hosts'], { cwd: dir, env });
      t.equal(printed.code, 0, printed.stderr);
      t.match(
        printed.stdout,
        new RegExp(`^${addr.replace(/\./g, '\\.')}\\s+${RDS_HOST.replace(/\./g, '\\.')}\\s+# tunnel forward db$`, 'm'),
      );
      t.equal(readFileSync(hostsFile, 'utf8'), original, 'printing changes nothing');

      const wrote = await tunnelRun(t, ['--no-user-config', 'hosts', '--write'], { cwd: dir, env });
      t.equal(wrote.code, 0, wrote.stderr);
      const text = readFileSync(hostsFile, 'utf8');
      t.ok(text.startsWith(original), 'everything before the block is unchanged');
      const block = /# >>> tunnel[^\n]*\n([\s\S]*?)# <<< tunnel\n$/.exec(text)?.[1] ?? '';
      const entries = block
        .trim()
        .split('\n')
        .map((l) => l.replace(/#.*$/, '').trim().split(/\s+/));
      t.same(entries, [[addr, RDS_HOST]], 'the block maps the RDS name to the forward’s address');
      t.equal(readFileSync(`${hostsFile}.tunnel-backup`, 'utf8'), original, 'the backup is the file before');

      await verifyFull(t, 'config forward', addr);

      // A token for the forward's real endpoint, port and user.
      const tok = await tunnelRun(t, ['--no-user-config', 'token', 'db'], { cwd: dir, env });
      t.equal(tok.code, 0, tok.stderr);
      const token = tok.stdout.trim();
      t.same(
        checkRdsToken(token, {
          host: RDS_HOST,
          port: 5432,
          user: 'app',
          region: emu.region,
          accessKeyId: emu.credentials.accessKeyId,
          secretAccessKey: SECRET,
        }),
        [],
        'tunnel token: a valid SigV4 presigned rds-db:connect token for host, port, user and region',
      );
      const other = checkRdsToken(token, {
        host: RDS_HOST,
        port: 5432,
        user: 'someone-else',
        region: emu.region,
        accessKeyId: emu.credentials.accessKeyId,
        secretAccessKey: SECRET,
      });
      t.ok(other.length > 0, 'the check rejects the token for another user');
      t.notOk(tok.stderr.includes(token), 'the token is not on stderr');
      const user = await tunnelRun(t, ['--no-user-config', 'token', 'db', '--user', 'admin'], { cwd: dir, env });
      t.same(
        checkRdsToken(user.stdout.trim(), {
          host: RDS_HOST,
          port: 5432,
          user: 'admin',
          region: emu.region,
          accessKeyId: emu.credentials.accessKeyId,
          secretAccessKey: SECRET,
        }),
        [],
        '--user overrides user:',
      );
      p.child.kill('SIGINT');
      t.equal((await p.exit).code, 0, 'tunnel up stops cleanly');

      const removed = await tunnelRun(t, ['--no-user-config', 'hosts', '--remove'], { cwd: dir, env });
      t.equal(removed.code, 0, removed.stderr);
      t.equal(readFileSync(hostsFile, 'utf8'), original, '--remove restores the file exactly');
    });

    await t.test('tunnel rds:NAME as a SPEC (TARGET:rds:NAME, --bind auto)', async (t) => {
      const p = tunnelProc(t, ['--no-user-config', '--bind', 'auto', 'i-0123456789abcdef0:rds:orders'], {
        cwd: dir,
        env,
      });
      const m = await p.waitFor(/^orders\s+(127\.0\.0\.\d+):5432 -> i-0123456789abcdef0 (\S+):5432$/m);
      t.equal(m[2], RDS_HOST);
      await verifyFull(t, 'SPEC', m[1] ?? '');
      p.child.kill('SIGINT');
      t.equal((await p.exit).code, 0);
    });

    await t.test(
      'tunnel run adds TUNNEL_DB_TOKEN and TUNNEL_DB_USER (iam: true); the token is never printed',
      async (t) => {
        const out = join(dir, 'child-env.json');
        const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ token: process.env.TUNNEL_DB_TOKEN, user: process.env.TUNNEL_DB_USER, host: process.env.TUNNEL_DB_HOST, port: process.env.TUNNEL_DB_PORT }))`;
        const r = await tunnelRun(
          t,
          ['--no-user-config', '--verbose', 'run', 'db', '--', process.execPath, '-e', script],
          {
            cwd: dir,
            env,
          },
        );
        t.equal(r.code, 0, r.stderr);
        t.ok(existsSync(out), 'the command ran');
        const got = JSON.parse(readFileSync(out, 'utf8')) as {
          token?: string;
          user?: string;
          host?: string;
          port?: string;
        };
        t.equal(got.user, 'app');
        t.equal(got.port, '5432', 'bind: auto keeps the database port');
        t.match(got.host ?? '', /^127\.0\.0\.\d+$/);
        t.same(
          checkRdsToken(got.token ?? '', {
            host: RDS_HOST,
            port: 5432,
            user: 'app',
            region: emu.region,
            accessKeyId: emu.credentials.accessKeyId,
            secretAccessKey: SECRET,
          }),
          [],
          'TUNNEL_DB_TOKEN verifies',
        );
        const sig = /X-Amz-Signature=([0-9a-f]+)/.exec(got.token ?? '')?.[1] ?? 'none';
        t.notOk(r.stdout.includes(sig) || r.stderr.includes(sig), 'the token is not in tunnel’s output');
      },
    );
  },
);

t.test('the CLI binary exists', async (t) => {
  t.ok(existsSync(BIN), 'npm run build ran');
});
