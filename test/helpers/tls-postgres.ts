/**
 * A dedicated PostgreSQL server with TLS on, for `sslmode=verify-full` tests (issue #19): a test
 * CA and a server certificate for `hostname` (made here with the `openssl` command line), a fresh
 * cluster from the Debian packages' `initdb`, started with `pg_ctl` on 127.0.0.1 and a free port.
 * PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` user (as
 * scripts/test-services.sh does). Everything lives in a temp dir removed at teardown.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TlsPostgres {
  port: number;
  /** PEM file of the test CA (for `sslrootcert=`). */
  caFile: string;
  dir: string;
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.out}`);
  return r.out;
}

/** The newest PostgreSQL bin directory of the Debian packages, or undefined. */
export function pgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b));
  const v = versions[versions.length - 1];
  return v === undefined ? undefined : join(base, v, 'bin');
}

/** Why the TLS PostgreSQL tests cannot run here, or false when they can. */
export async function tlsPostgresUnavailable(): Promise<string | false> {
  if (pgBinDir() === undefined)
    return 'PostgreSQL server packages not installed (scripts/test-services.sh installs them)';
  for (const [tool, arg] of [
    ['openssl', 'version'],
    ['psql', '--version'],
  ] as const)
    if ((await run(tool, [arg])).code !== 0) return `${tool} not found`;
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** As root: run as `postgres`; otherwise as ourselves. */
function asUser(user: string | undefined, cmd: string, args: string[]): [string, string[]] {
  if (user === undefined) return [cmd, args];
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['su', ['-s', '/bin/sh', user, '-c', quoted]];
}

export async function startTlsPostgres(t: Teardown, hostname: string): Promise<TlsPostgres> {
  const bin = pgBinDir();
  if (bin === undefined) throw new Error('no PostgreSQL server binaries');
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-tls-pg-'));
  chmodSync(dir, 0o755);
  const runAs = userInfo().uid === 0 ? 'postgres' : undefined;
  const ca = join(dir, 'ca');
  const srv = join(dir, 'server');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await must('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.crt`,
    '-days',
    '2',
    '-subj',
    '/CN=tunnel test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await must('openssl', ['req', ...ec, '-keyout', `${srv}.key`, '-out', `${srv}.csr`, '-subj', `/CN=${hostname}`]);
  writeFileSync(
    `${srv}.ext`,
    `subjectAltName=DNS:${hostname}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  await must('openssl', [
    'x509',
    '-req',
    '-in',
    `${srv}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${srv}.crt`,
    '-days',
    '2',
    '-extfile',
    `${srv}.ext`,
  ]);
  const data = join(dir, 'data');
  const log = join(dir, 'pg.log');
  writeFileSync(log, '');
  for (const f of [`${srv}.key`, `${srv}.crt`, log]) {
    if (runAs !== undefined) chownSync(f, pgUid(), pgGid());
  }
  chmodSync(`${srv}.key`, 0o600);
  const sock = join(dir, 'sock');
  mkdirSync(data);
  mkdirSync(sock);
  if (runAs !== undefined) for (const d of [data, sock]) chownSync(d, pgUid(), pgGid());
  const port = await freePort();
  await must(...asUser(runAs, join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']));
  const opts = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${sock}`,
    `-c ssl=on`,
    `-c ssl_cert_file=${srv}.crt`,
    `-c ssl_key_file=${srv}.key`,
    `-c fsync=off`,
  ].join(' ');
  t.teardown(async () => {
    await run(...asUser(runAs, join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']));
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await must(...asUser(runAs, join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start']));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- pg.log ---\n${readFileSync(log, 'utf8')}`);
  }
  return { port, caFile: `${ca}.crt`, dir };
}

function idOf(flag: '-u' | '-g'): number {
  // `id` is in coreutils; the postgres user exists wherever the server package is installed.
  const out = execFileSyncText('id', [flag, 'postgres']);
  return Number(out.trim());
}

function pgUid(): number {
  return idOf('-u');
}

function pgGid(): number {
  return idOf('-g');
}

function execFileSyncText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}
