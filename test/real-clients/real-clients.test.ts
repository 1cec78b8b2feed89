/**
 * Real database clients through tunnel + emulator (issue #8): psql, pgbench, redis-cli and
 * redis-benchmark talk to the real PostgreSQL and Redis that scripts/test-services.sh starts on
 * loopback ($TUNNEL_TEST_PG_PORT, $TUNNEL_TEST_REDIS_PORT; CI always sets them). Each client
 * connects to the forward's local port; the emulator's agent (default pacing: the real agent's
 * output rate) dials the server. Results are summarised in docs/real-clients.md; REAL_CLIENTS_LOG=1
 * prints the raw client output.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { startEmulator } from '../../src/emulator/index.js';
import { createSsmApi } from '../../src/aws/ssm-api.js';
import { TunnelManager } from '../../src/tunnel/tunnel-manager.js';
import type { Forward } from '../../src/tunnel/forward.js';

const PG_PORT = process.env['TUNNEL_TEST_PG_PORT'];
const REDIS_PORT = process.env['TUNNEL_TEST_REDIS_PORT'];
const LOG = process.env['REAL_CLIENTS_LOG'] === '1';

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): Promise<Out> {
  const t0 = performance.now();
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        done({ code, stdout, stderr, ms: performance.now() - t0 });
      },
    );
  });
}

/** Emulator (agent pacing) + TunnelManager with one forward to 127.0.0.1:`remotePort`. */
async function forwardTo(t: Test, remotePort: number, name: string): Promise<Forward> {
  const emu = await startEmulator({});
  t.teardown(() => emu.close());
  const aws = {
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: async () => ({ ...emu.credentials }),
    env: {},
  };
  const manager = new TunnelManager({ aws, ssm: createSsmApi(aws) });
  t.teardown(() => manager.stop());
  const f = manager.add({
    name,
    target: { kind: 'id', id: emu.state.options.instances[0]?.instanceId ?? '' },
    remotePort,
    localPort: 'auto',
    bind: ['127.0.0.1'],
  });
  await manager.start();
  if (f.state !== 'ready') throw new Error(`forward ${name} not ready: ${JSON.stringify(f.error)}`);
  return f;
}

const log = (t: Test, label: string, o: Out): void => {
  // Progress output uses \r; keep the final lines only, and nothing tap could read as a plan.
  const text = `${o.stdout}\n${o.stderr}`
    .split(/\r|\n/)
    .filter((l) => l.trim() !== '' && !/^\s*\d+\.\.\d+/.test(l))
    .slice(-25)
    .join('\n');
  if (LOG) t.comment(`${label} (${o.ms.toFixed(0)} ms, exit ${o.code})\n${text}`);
};

t.test(
  'PostgreSQL through the tunnel: psql and pgbench',
  { skip: PG_PORT ? false : 'TUNNEL_TEST_PG_PORT is not set (run: eval "$(bash scripts/test-services.sh start)")' },
  async (t) => {
    const f = await forwardTo(t, Number(PG_PORT), 'pg');
    const port = String(f.port);
    const pg = ['-h', '127.0.0.1', '-p', port, '-U', 'postgres'];
    const env = { PGCONNECT_TIMEOUT: '10', PGPASSWORD: '' };

    const q = await run(
      'psql',
      [
        ...pg,
        '-d',
        'postgres',
        '-X',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        'select 6 * 7',
        '-c',
        "select md5(string_agg(i::text, ',' order by i)) from generate_series(1, 200000) i",
        '-c',
        'show server_version',
      ],
      60_000,
      env,
    );
    log(t, 'psql', q);
    t.equal(q.code, 0, 'psql exits 0');
    const lines = q.stdout.trim().split('\n');
    t.equal(lines[0], '42', 'select 6 * 7 = 42');
    const expected = createHash('md5')
      .update(Array.from({ length: 200_000 }, (_, i) => String(i + 1)).join(','))
      .digest('hex');
    t.equal(lines[1], expected, 'server-side md5 over 200,000 rows matches (the query went through intact)');

    // A large result set comes back intact (download direction, ~1.9 MB).
    const big = await run(
      'psql',
      [...pg, '-d', 'postgres', '-X', '-A', '-t', '-c', "select i, repeat('x', 10) from generate_series(1, 100000) i"],
      60_000,
      env,
    );
    t.equal(big.code, 0, 'a 100,000-row result set');
    t.equal(big.stdout.trim().split('\n').length, 100_000, 'every row arrived');

    const init = await run('pgbench', [...pg, '-i', '-s', '1', '-q', 'postgres'], 120_000, env);
    log(t, 'pgbench -i', init);
    t.equal(init.code, 0, `pgbench -i completes (${(init.ms / 1000).toFixed(1)} s)`);

    const bench = await run('pgbench', [...pg, '-c', '16', '-j', '2', '-T', '10', 'postgres'], 60_000, env);
    log(t, 'pgbench', bench);
    t.equal(bench.code, 0, 'pgbench -c 16 -j 2 -T 10 exits 0');
    const processed = /number of transactions actually processed: (\d+)/.exec(bench.stdout);
    const failed = /number of failed transactions: (\d+)/.exec(bench.stdout);
    const tps = /tps = ([\d.]+)/.exec(bench.stdout);
    t.ok(processed !== null && Number(processed[1]) > 0, `transactions processed: ${processed?.[1]}`);
    t.equal(failed === null ? 0 : Number(failed[1]), 0, 'no failed transaction');
    t.comment(
      `pgbench: ${processed?.[1]} transactions, ${failed?.[1] ?? 0} failed, tps ${tps?.[1]}; init ${(init.ms / 1000).toFixed(1)} s; forward: ${JSON.stringify(f.status().connections)}`,
    );
    t.equal(f.status().connections.failed, 0, 'no tunnel connection failed');
  },
);

t.test(
  'Redis through the tunnel: redis-cli and redis-benchmark',
  {
    skip: REDIS_PORT ? false : 'TUNNEL_TEST_REDIS_PORT is not set (run: eval "$(bash scripts/test-services.sh start)")',
  },
  async (t) => {
    const f = await forwardTo(t, Number(REDIS_PORT), 'redis');
    const port = String(f.port);
    const r = ['-h', '127.0.0.1', '-p', port];

    const ping = await run('redis-cli', [...r, 'PING']);
    t.equal(ping.stdout.trim(), 'PONG', 'PING → PONG');
    const value = createHash('sha256').update('tunnel').digest('hex').repeat(4096); // 256 KiB
    const setBig = await new Promise<Out>((done) => {
      const t0 = performance.now();
      const child = execFile(
        'redis-cli',
        [...r, '-x', 'SET', 'tunnel:big'],
        { timeout: 60_000 },
        (err, stdout, stderr) => done({ code: err === null ? 0 : 1, stdout, stderr, ms: performance.now() - t0 }),
      );
      child.stdin?.end(value);
    });
    t.equal(setBig.stdout.trim(), 'OK', 'SET of a 256 KiB value');
    const get = await run('redis-cli', [...r, '--no-raw', 'STRLEN', 'tunnel:big']);
    t.match(get.stdout, /262144/, 'STRLEN is 262144');
    const got = await run('redis-cli', [...r, 'GET', 'tunnel:big'], 60_000);
    t.equal(got.stdout.replace(/\n$/, ''), value, 'GET returns the value intact');

    const bench = await run(
      'redis-benchmark',
      [...r, '-c', '50', '-n', '20000', '-q', '-t', 'ping,set,get,incr,lpush,lpop'],
      120_000,
    );
    log(t, 'redis-benchmark', bench);
    t.equal(bench.code, 0, `redis-benchmark -c 50 -n 20000 completes (${(bench.ms / 1000).toFixed(1)} s)`);
    const rates = [...bench.stdout.matchAll(/([A-Z_]+(?: \([^)]*\))?): ([\d.]+) requests per second/g)].map(
      (m) => `${m[1]} ${m[2]}/s`,
    );
    t.ok(rates.length >= 6, `every test reported a rate: ${rates.join(', ')}`);
    t.comment(`redis-benchmark: ${rates.join('; ')}; forward: ${JSON.stringify(f.status().connections)}`);
    t.equal(f.status().connections.failed, 0, 'no tunnel connection failed');
  },
);
