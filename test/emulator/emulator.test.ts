/**
 * startEmulator end to end: the real client stack (session/DataChannel with ResumeSession through
 * the SDK, DataChannelDuplex, a client MuxSession) against the emulator and its demo services,
 * with faults on the path; and the emulator's lifecycle (close() frees everything).
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ResumeSessionCommand } from '@aws-sdk/client-ssm';
import { DEFAULT_AGENT_VERSION } from '../../src/emulator/index.js';
import { DataChannel } from '../../src/session/data-channel.js';
import { DataChannelDuplex } from '../../src/session/data-channel-duplex.js';
import { MuxSession } from '../../src/mux/mux-session.js';
import type { MuxStream } from '../../src/mux/mux-stream.js';
import { demoBytes, startDemoServices, type Emulator } from '../../src/emulator/index.js';
import type { FaultSettings } from '../../src/emulator/options.js';
import { withEmulator, startSession, ssmClient } from '../helpers/emulator.js';

async function openClient(t: Test, emu: Emulator, portNumber: string) {
  const s = await startSession(emu, { parameters: { portNumber: [portNumber] } });
  const ssm = ssmClient(emu);
  t.teardown(() => ssm.destroy());
  const channel = new DataChannel({
    streamUrl: s.streamUrl,
    tokenValue: s.tokenValue,
    sessionId: s.sessionId,
    targetId: emu.state.options.instances[0]?.instanceId ?? '',
    // The token and the StreamUrl ResumeSession returns (a fresh cell-number, issue 14).
    resume: async () => {
      const r = await ssm.send(new ResumeSessionCommand({ SessionId: s.sessionId }));
      return r.TokenValue === undefined
        ? undefined
        : { tokenValue: r.TokenValue, ...(r.StreamUrl === undefined ? {} : { streamUrl: r.StreamUrl }) };
    },
  });
  channel.on('error', () => undefined);
  t.teardown(() => channel.close());
  const hs = await channel.open();
  const mux = new MuxSession(new DataChannelDuplex(channel), { role: 'client', config: { keepAliveDisabled: true } });
  t.teardown(() => mux.close());
  return { s, channel, hs, mux };
}

function readAll(stream: MuxStream, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      parts.push(c);
      got += c.length;
      if (got >= n) resolve(Buffer.concat(parts));
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(parts)));
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('the real client stack forwards through the emulator (mux, 256 KiB echo)', async (t) => {
  const demo = await startDemoServices();
  t.teardown(() => demo.close());
  const emu = await withEmulator(t, { pacing: 'none', destinations: demo.destinations });
  const { hs, mux } = await openClient(t, emu, '7');
  t.equal(hs.portMode, 'mux');
  t.equal(hs.agentVersion, DEFAULT_AGENT_VERSION);
  const stream = mux.openStream();
  const data = demoBytes(11, 256 * 1024);
  const echoed = readAll(stream, data.length);
  stream.write(data);
  t.equal(sha(await echoed), sha(data));
});

const faultCases: Array<[string, FaultSettings]> = [
  ['a dropped websocket (after 40 records)', { dropAfterMessages: 40 }],
  [
    'duplicated, reordered and delayed records',
    { duplicateRate: 0.1, reorderRate: 0.1, reorderWindow: 3, delayRate: 0.05, delayMs: 5 },
  ],
  ['lost records', { dropRate: 0.02 }],
];

for (const [name, faults] of faultCases) {
  t.test(`data arrives intact despite ${name}`, async (t) => {
    const demo = await startDemoServices();
    t.teardown(() => demo.close());
    const emu = await withEmulator(t, { pacing: 'none', destinations: demo.destinations, seed: 1234 });
    const seen = new Set<string>();
    emu.events.on('fault', (e) => seen.add(e.kind));
    const { mux, channel } = await openClient(t, emu, '80');
    const reconnects: unknown[] = [];
    channel.on('reconnected', () => reconnects.push(1));
    emu.faults = faults;
    const stream = mux.openStream();
    const body = readAll(stream, Number.MAX_SAFE_INTEGER);
    stream.write('GET /bytes/65536 HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n');
    const res = await body;
    const content = res.subarray(res.indexOf('\r\n\r\n') + 4);
    t.equal(content.length, 65536);
    t.equal(sha(content), sha(demoBytes(0, 65536)));
    t.ok(seen.size > 0, `faults fired: ${[...seen].join(', ')}`);
    if (faults.dropAfterMessages !== undefined) t.ok(reconnects.length >= 1, 'the client resumed the session');
    emu.faults = {};
  });
}

t.test('close() leaves nothing that keeps the process alive', async (t) => {
  const script = fileURLToPath(new URL('./fixtures/run-and-close.ts', import.meta.url));
  const loader = new URL('../../node_modules/@tapjs/typescript/dist/esm/import.mjs', import.meta.url).href;
  const child = spawn(process.execPath, [`--import=${loader}`, script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  // A watchdog, not a sleep: a process kept alive by a leaked handle is killed and fails the test.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(watchdog);
  t.equal(signal, null, 'exited by itself');
  t.equal(code, 0, out);
  t.match(out, /closed/);
});
