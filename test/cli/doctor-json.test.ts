/**
 * `tunnel doctor --json` through the built CLI: every line validates against
 * docs/doctor.schema.json (ajv), one object per check in order, then the summary; the exit
 * status follows `ok`. The schema itself must reject what it promises to reject.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { startLoopbackServer } from '../helpers/loopback.js';
import { doctor, emulator } from './doctor-helpers.js';

const schema = JSON.parse(readFileSync(new URL('../../docs/doctor.schema.json', import.meta.url), 'utf8')) as object;
// ajv-formats is CommonJS: its default export arrives as the module object under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(schema);

const GLOBAL = ['runtime', 'identity', 'clock', 'endpoints'];
const PER_FORWARD = ['target', 'permission', 'destination', 'local'];

function parseLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('--json: passing and failing checks all validate against docs/doctor.schema.json', async (t) => {
  const emu = await emulator(t, {
    instances: [
      { instanceId: 'i-0123456789abcdef0', name: 'demo' },
      { instanceId: 'i-0aaaaaaaaaaaaaaa1', name: 'lost', pingStatus: 'ConnectionLost' },
    ],
    faults: { unresolvableHosts: ['db.internal'] },
  });
  const dest = (await startLoopbackServer(t, (s) => s.end('hi\n'))).port;
  // --timeout 60s: the destination's quiet window (20 s) never races the unresolvable host's refusal.
  const r = await doctor(t, emu, [
    `demo:${dest}:auto`,
    'lost:22:auto',
    'demo:db.internal:5432:auto',
    '--json',
    '--timeout',
    '60s',
  ]);
  t.equal(r.code, 1, 'a failed check makes the exit status 1');
  const lines = parseLines(r.stdout);
  for (const [i, obj] of lines.entries()) {
    const ok = validate(obj);
    t.ok(ok, `line ${i + 1} is valid: ${JSON.stringify(validate.errors ?? [])}`);
  }
  const checks = lines.filter((l) => l['type'] === 'check');
  t.same(
    checks.map((c) => `${String(c['forward'] ?? '')}/${String(c['check'])}`),
    [
      ...GLOBAL.map((c) => `/${c}`),
      ...[`demo-${dest}`, 'lost', 'demo-5432'].flatMap((f) => PER_FORWARD.map((c) => `${f}/${c}`)),
    ],
    'one object per check, in order',
  );
  const by = (f: string, c: string) => checks.find((x) => x['forward'] === f && x['check'] === c);
  t.match(by(`demo-${dest}`, 'destination'), { status: 'pass', fix: null, details: { outcome: 'connected' } });
  t.match(by('lost', 'target'), { status: 'fail', fix: /amazon-ssm-agent/, details: { pingStatus: 'ConnectionLost' } });
  t.match(by('lost', 'permission'), { status: 'skip', fix: null });
  t.match(by('demo-5432', 'destination'), { status: 'fail', details: { outcome: 'unresolvable' } });
  const summary = lines.at(-1);
  t.match(summary, { type: 'summary', ok: false, failed: 2, skipped: 2 });
  t.equal(r.stderr, '', 'nothing but JSON is printed');
});

t.test('--json: a healthy run ends with ok: true and status 0', async (t) => {
  const emu = await emulator(t);
  const r = await doctor(t, emu, ['--json']);
  t.equal(r.code, 0, 'exit status 0');
  const lines = parseLines(r.stdout);
  for (const obj of lines) t.ok(validate(obj), JSON.stringify(validate.errors ?? []));
  t.match(lines.at(-1), { type: 'summary', ok: true, failed: 0 });
});

t.test('the schema rejects malformed objects', async (t) => {
  const good = {
    type: 'check',
    time: '2026-12-02T00:00:00.000Z',
    check: 'target',
    forward: 'db',
    status: 'fail',
    finding: 'x',
    fix: 'y',
    durationMs: 3,
    details: {},
  };
  t.ok(validate(good));
  t.notOk(validate({ ...good, status: 'ok' }), 'unknown status');
  t.notOk(validate({ ...good, check: 'dns' }), 'unknown check');
  t.notOk(validate({ ...good, fix: null }), 'a failure without a fix');
  t.notOk(validate({ ...good, forward: null }), 'a per-forward check without its forward');
  t.notOk(validate({ ...good, check: 'clock' }), 'a global check with a forward');
  t.notOk(validate({ ...good, extra: 1 }), 'unknown property');
  t.notOk(validate({ ...good, time: 'yesterday' }), 'bad time');
  t.notOk(validate({ type: 'summary', time: good.time, passed: 1, warnings: 0, failed: 0, skipped: 0 }), 'no ok');
});
