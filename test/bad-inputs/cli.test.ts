/**
 * docs/bad-inputs.md, CLI rows: every case in cli-cases.ts runs `node dist/bin/tunnel.js … --json`
 * (built by `npx tsc -p tsconfig.build.json`, as `npm test` does) against one shared emulator, in
 * a fresh directory that is also $HOME (no user config, no ~/.aws). Each must end with its exit
 * status and an NDJSON `error` event with its code and message.
 * BAD_INPUTS_PRINT=1 prints each row's observed message (to refresh the doc).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { CLI_CASES, writeCaseFiles, type CliContext } from './cli-cases.js';
import { cliProcessEnv } from '../helpers/emulator.js';

const root = resolve(import.meta.dirname, '..', '..');
const bin = join(root, 'dist', 'bin', 'tunnel.js');

interface Run {
  exit: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd, env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const exit = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      done({ exit, stdout, stderr });
    });
  });
}

async function listen(): Promise<Server> {
  const s = createServer((c) => c.on('error', () => undefined).end());
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}
const portOf = (s: Server): number => {
  const a = s.address();
  return a !== null && typeof a === 'object' ? a.port : 0;
};

// Each row is a node process that loads the AWS SDK (four at a time): on a loaded 2-core machine
// the whole table takes longer than the default per-file limit.
t.setTimeout(420_000);

t.test(
  'CLI bad inputs: each row fails with its code, exit status and message',
  { skip: existsSync(bin) ? false : `${bin} is not built (run npx tsc -p tsconfig.build.json)` },
  async (t) => {
    const emu = await startEmulator({
      pacing: 'none',
      instances: [
        { instanceId: 'i-0123456789abcdef0', name: 'demo' },
        { instanceId: 'i-0aaaaaaaaaaaaaaa1', name: 'twin' },
        { instanceId: 'i-0aaaaaaaaaaaaaaa2', name: 'twin' },
        { instanceId: 'i-0bbbbbbbbbbbbbbb3', name: 'lost', pingStatus: 'ConnectionLost' },
        { instanceId: 'i-0ddddddddddddddd4', name: 'denied' },
      ],
      accessDeny: [{ action: 'ssm:StartSession', resource: 'i-0ddddddddddddddd4' }],
      // Issue #19 rows (rds-*, ecs-*).
      rds: { instances: [{ id: 'orders' }, { id: 'shop' }], clusters: [{ id: 'shop' }] },
      ecs: {
        clusters: [
          { name: 'web', tasks: [{ service: 'worker', containers: [{ name: 'main' }, { name: 'sidecar' }] }] },
        ],
      },
    });
    t.teardown(() => emu.close());
    const busy = await listen();
    const open = await listen();
    const closed = await listen();
    const closedPort = portOf(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    t.teardown(() => {
      busy.close();
      open.close();
    });
    const base = t.testdirName;
    mkdirSync(base, { recursive: true });
    const rows: string[] = [];
    // A few at a time: each run is a node process that loads the AWS SDK.
    const queue = [...CLI_CASES];
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const dir = join(base, c.id);
        mkdirSync(dir, { recursive: true });
        const ctx: CliContext = { dir, busyPort: portOf(busy), closedPort, openPort: portOf(open) };
        if (c.files) writeCaseFiles(dir, c.files(ctx), (p) => mkdirSync(p, { recursive: true }));
        const env = cliProcessEnv(emu, dir);
        for (const [k, v] of Object.entries(c.env ?? {})) {
          if (v === undefined) delete env[k];
          else env[k] = v;
        }
        // --json first: after `--` it would belong to the command of `tunnel run`.
        const r = await runCli(['--json', ...c.args(ctx)], dir, env, c.killAfterMs ?? 30_000);
        const events = r.stdout
          .split('\n')
          .concat(r.stderr.split('\n'))
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const error = events.find((e) => e['type'] === 'error');
        t.test(c.id, async (t) => {
          t.equal(r.exit, c.expect.exit, `exit status ${c.expect.exit}`);
          t.equal(error?.['code'], c.expect.code, `error code ${c.expect.code}`);
          t.equal(error?.['exitCode'], c.expect.exit, 'the error event carries the exit status');
          const issue0 = (error?.['issues'] as Array<{ message?: string }> | undefined)?.[0]?.message;
          t.match(
            `${String(error?.['message'] ?? '')}${issue0 === undefined ? '' : ` — ${issue0}`}`,
            c.expect.message,
            'message (and first issue)',
          );
          for (const s of c.absent ?? [])
            t.notOk(r.stdout.includes(s) || r.stderr.includes(s), `output does not contain ${s.slice(0, 12)}…`);
          if (c.maxOutputChars !== undefined)
            t.ok(
              r.stdout.length + r.stderr.length < c.maxOutputChars,
              `output is short (${r.stdout.length + r.stderr.length} characters)`,
            );
          if (error === undefined) t.comment(`stdout: ${r.stdout.slice(0, 500)}\nstderr: ${r.stderr.slice(0, 500)}`);
        });
        const issue = (error?.['issues'] as Array<{ message?: string }> | undefined)?.[0]?.message;
        rows.push(
          `| ${c.id} | ${String(error?.['message'] ?? '')}${issue ? ` — ${issue}` : ''} | \`${String(error?.['code'])}\` | ${r.exit} |`,
        );
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    if (process.env['BAD_INPUTS_PRINT'] === '1') t.comment(rows.sort().join('\n'));
  },
);
