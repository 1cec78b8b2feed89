/** MuxSession behaviour against a raw carrier the test controls byte by byte. */
import t from 'tap';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import {
  DEFAULT_MUX_CONFIG,
  MuxSession,
  type MuxConfig,
  type MuxStream,
  resolveMuxConfig,
} from '../../src/mux/index.js';
import { Cmd, FrameDecoder, encodeFrame, encodeUpd, type SmuxFrame } from '../../src/protocol/smux/index.js';
import { MuxError, isTunnelError } from '../../src/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A carrier whose incoming bytes the test pushes and whose outgoing frames the test decodes. */
class RawCarrier extends Duplex {
  written: Buffer[] = [];
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(chunk);
    cb();
  }
  frames(version = 1): SmuxFrame[] {
    return new FrameDecoder(version).decode(Buffer.concat(this.written));
  }
  send(...frames: Array<{ cmd: Cmd; streamId: number; data?: Buffer; version?: number }>): void {
    for (const f of frames)
      this.push(encodeFrame({ version: f.version ?? 1, cmd: f.cmd, streamId: f.streamId, data: f.data }));
  }
}

function setup(
  role: 'client' | 'server',
  config: Partial<MuxConfig> = {},
  clock?: FakeClock,
): { raw: RawCarrier; session: MuxSession } {
  const raw = new RawCarrier();
  const session = new MuxSession(raw, { role, config: { keepAliveDisabled: true, ...config }, clock });
  t.teardown(() => session.close());
  return { raw, session };
}

async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

function describe(f: SmuxFrame): string {
  return `${Cmd[f.cmd]} ${f.streamId}${f.data.length > 0 ? ` ${f.data.toString('hex')}` : ''}`;
}

t.test('DEFAULT_MUX_CONFIG is xtaci DefaultConfig', async (t) => {
  t.same(DEFAULT_MUX_CONFIG, {
    version: 1,
    keepAliveDisabled: false,
    keepAliveIntervalMs: 10_000,
    keepAliveTimeoutMs: 30_000,
    maxFrameBytes: 32_768,
    maxReceiveBufferBytes: 4_194_304,
    maxStreamBufferBytes: 65_536,
    acceptBacklog: 1024,
  });
});

t.test('config is verified as xtaci VerifyConfig does', async (t) => {
  const bad: Array<[Partial<MuxConfig>, string]> = [
    [{ version: 3 as 1 }, 'ERR_SMUX_BAD_CONFIG'],
    [{ keepAliveIntervalMs: 0 }, 'ERR_SMUX_BAD_CONFIG'],
    [{ keepAliveIntervalMs: 10_000, keepAliveTimeoutMs: 5_000 }, 'ERR_SMUX_BAD_CONFIG'],
    [{ maxFrameBytes: 65_536 }, 'ERR_SMUX_FRAME_TOO_LARGE'],
    [{ maxFrameBytes: 0 }, 'ERR_SMUX_BAD_CONFIG'],
    [{ maxReceiveBufferBytes: 0 }, 'ERR_SMUX_BAD_CONFIG'],
    [{ maxStreamBufferBytes: 8 * 1024 * 1024 }, 'ERR_SMUX_BAD_CONFIG'],
    [{ acceptBacklog: -1 }, 'ERR_SMUX_BAD_CONFIG'],
  ];
  for (const [partial, code] of bad) t.throws(() => resolveMuxConfig(partial), { code }, JSON.stringify(partial));
  t.doesNotThrow(
    () => resolveMuxConfig({ keepAliveDisabled: true, keepAliveIntervalMs: 0 }),
    'keep-alive values unused when disabled',
  );
  t.throws(() => new MuxSession(new RawCarrier(), { role: 'client', config: { maxFrameBytes: 70_000 } }), {
    code: 'ERR_SMUX_FRAME_TOO_LARGE',
  });
});

t.test('openStream sends SYN at once; client ids 3, 5, 7 …', async (t) => {
  const { raw, session } = setup('client');
  const ids = [session.openStream().id, session.openStream().id, session.openStream().id];
  t.same(ids, [3, 5, 7]);
  t.equal(Buffer.concat(raw.written).toString('hex'), '010000000300000001000000050000000100000007000000');
  t.equal(session.streamCount, 3);
});

t.test('server ids 2, 4, 6 …, in the session version', async (t) => {
  const { raw, session } = setup('server', { version: 2 });
  t.same([session.openStream().id, session.openStream().id, session.openStream().id], [2, 4, 6]);
  t.same(raw.frames(2).map(describe), ['SYN 2', 'SYN 4', 'SYN 6']);
});

t.test('a peer SYN emits "stream"; data flows; FIN gives EOF', async (t) => {
  const { raw, session } = setup('server');
  const accepted = once(session, 'stream') as Promise<[MuxStream]>;
  raw.send(
    { cmd: Cmd.SYN, streamId: 3 },
    { cmd: Cmd.PSH, streamId: 3, data: Buffer.from('hello') },
    { cmd: Cmd.FIN, streamId: 3 },
  );
  const [s] = await accepted;
  t.equal(s.id, 3);
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await once(s, 'end');
  t.equal(Buffer.concat(chunks).toString(), 'hello');
  t.equal(session.streamCount, 1, 'still in the table: our side has not closed');
  s.end();
  await settle();
  t.same(raw.frames().map(describe), ['FIN 3']);
  t.equal(session.streamCount, 0, 'removed after both FINs');
});

t.test('close() writes nothing, destroys streams quietly, and refuses new streams', async (t) => {
  const { raw, session } = setup('client');
  const s = session.openStream();
  const errors: unknown[] = [];
  s.on('error', (e) => errors.push(e));
  const before = raw.written.length;
  const closed = once(session, 'close');
  session.close();
  const [err] = await closed;
  t.equal(err, undefined, "'close' without an error");
  t.equal(raw.written.length, before, 'no FIN, no goodbye frame');
  await settle();
  t.equal(s.destroyed, true);
  t.same(errors, [], 'no stream error on a plain close');
  t.equal(session.isClosed, true);
  t.equal(session.streamCount, 0);
  t.throws(() => session.openStream(), { code: 'ERR_SMUX_SESSION_CLOSED' });
  session.close(); // idempotent
});

t.test('close(err) resets every stream with ERR_SMUX_STREAM_RESET', async (t) => {
  const { raw, session } = setup('client');
  const s = session.openStream();
  const streamErr = once(s, 'error');
  const sessionClosed = once(session, 'close');
  session.close(new Error('carrier lost'));
  const [e] = (await streamErr) as [MuxError];
  t.ok(isTunnelError(e, 'ERR_SMUX_STREAM_RESET'));
  const [se] = (await sessionClosed) as [MuxError];
  t.ok(se instanceof MuxError && se.code === 'ERR_SMUX_SESSION_CLOSED', 'session error wrapped as MuxError');
  t.equal(raw.written.length, 1, 'only the SYN was ever written');
});

t.test('carrier EOF: streams keep buffered data, then EOF; later writes fail', async (t) => {
  const { raw, session } = setup('client');
  const s = session.openStream();
  raw.send({ cmd: Cmd.PSH, streamId: 3, data: Buffer.from('tail') });
  raw.push(null);
  const [err] = (await once(session, 'close')) as [MuxError];
  t.equal(err.code, 'ERR_SMUX_SESSION_CLOSED');
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await once(s, 'end');
  t.equal(Buffer.concat(chunks).toString(), 'tail', 'buffered data delivered before EOF');
  const writeErr = once(s, 'error');
  s.write('more');
  const [we] = (await writeErr) as [MuxError];
  t.equal(we.code, 'ERR_SMUX_SESSION_CLOSED');
});

t.test('a destroyed carrier resets the streams', async (t) => {
  const { raw, session } = setup('client');
  const s = session.openStream();
  const e = once(s, 'error');
  raw.destroy();
  const [err] = (await e) as [MuxError];
  t.equal(err.code, 'ERR_SMUX_STREAM_RESET');
  t.equal(session.isClosed, true);
});

t.test('stream.destroy() sends FIN once and forgets the stream; later data for it is discarded', async (t) => {
  const { raw, session } = setup('client');
  const s = session.openStream();
  const s2 = session.openStream();
  s2.end();
  s2.destroy();
  s.destroy();
  await settle();
  t.same(raw.frames().map(describe), ['SYN 3', 'SYN 5', 'FIN 5', 'FIN 3'], 'one FIN each, even after end()');
  t.equal(session.streamCount, 0);
  raw.send({ cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(1000) });
  await settle();
  t.equal(session.receiveBufferedBytes, 0, 'discarded, no budget used');
  t.equal(session.isClosed, false);
});

t.test('a destroyed stream returns its unread bytes to the budget', async (t) => {
  const { raw, session } = setup('server', { maxReceiveBufferBytes: 4096, maxStreamBufferBytes: 4096 });
  const accepted = once(session, 'stream') as Promise<[MuxStream]>;
  raw.send({ cmd: Cmd.SYN, streamId: 3 }, { cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(3000) });
  const [s] = await accepted;
  await settle();
  t.equal(session.receiveBufferedBytes, 3000);
  s.destroy();
  t.equal(session.receiveBufferedBytes, 0);
});

t.test('the receive budget pauses the carrier and resumes it as the stream is read', async (t) => {
  const { raw, session } = setup('server', { maxReceiveBufferBytes: 4096, maxStreamBufferBytes: 4096 });
  const accepted = once(session, 'stream') as Promise<[MuxStream]>;
  raw.send({ cmd: Cmd.SYN, streamId: 3 });
  for (let i = 0; i < 10; i++) raw.send({ cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(1000, i) });
  const [s] = await accepted;
  await settle();
  t.equal(session.receiveBufferedBytes, 4000 + 1000, 'stopped after the frame that crossed the budget');
  t.equal(raw.isPaused(), true, 'carrier paused');
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  await settle();
  t.equal(Buffer.concat(got).length, 10_000, 'everything delivered once read');
  t.equal(raw.isPaused(), false, 'carrier resumed');
  t.equal(session.receiveBufferedBytes, 0);
});

t.test('keep-alive: NOP every interval; the session closes when nothing arrives for the timeout', async (t) => {
  const clock = new FakeClock();
  const { raw, session } = setup(
    'client',
    { keepAliveDisabled: false, keepAliveIntervalMs: 10_000, keepAliveTimeoutMs: 30_000 },
    clock,
  );
  const s = session.openStream();
  const streamErr = once(s, 'error');
  let closeErr: MuxError | undefined;
  session.on('close', (e: MuxError) => (closeErr = e));
  clock.advance(29_999);
  t.same(raw.frames().map(describe), ['SYN 3', 'NOP 0', 'NOP 0']);
  t.equal(session.isClosed, false);
  clock.advance(1);
  t.equal(session.isClosed, true, 'closed at 30 s with no frame received');
  t.equal(closeErr?.code, 'ERR_SMUX_KEEPALIVE_TIMEOUT');
  const [e] = (await streamErr) as [MuxError];
  t.equal(e.code, 'ERR_SMUX_STREAM_RESET');
  t.equal(clock.pending, 0, 'no timers left');
});

t.test('keep-alive: NOPs from the peer keep the session open', async (t) => {
  const clock = new FakeClock();
  const { raw, session } = setup(
    'server',
    { keepAliveDisabled: false, keepAliveIntervalMs: 10_000, keepAliveTimeoutMs: 30_000 },
    clock,
  );
  await settle();
  for (let i = 0; i < 20; i++) {
    raw.send({ cmd: Cmd.NOP, streamId: 0 });
    await settle(2);
    clock.advance(10_000);
  }
  t.equal(session.isClosed, false, '200 s of NOP traffic keeps it alive');
  clock.advance(60_000);
  t.equal(session.isClosed, true, 'silence then closes it');
});

t.test('keep-alive: an exhausted receive budget does not count as a dead peer', async (t) => {
  const clock = new FakeClock();
  const { raw, session } = setup(
    'server',
    {
      keepAliveDisabled: false,
      keepAliveIntervalMs: 1000,
      keepAliveTimeoutMs: 3000,
      maxReceiveBufferBytes: 1000,
      maxStreamBufferBytes: 1000,
    },
    clock,
  );
  raw.send({ cmd: Cmd.SYN, streamId: 3 }, { cmd: Cmd.PSH, streamId: 3, data: Buffer.alloc(1000) });
  await settle();
  clock.advance(30_000);
  t.equal(session.isClosed, false, 'we are the ones not reading');
});

t.test('keep-alive disabled: no NOPs and no timers', async (t) => {
  const clock = new FakeClock();
  const { raw } = setup('client', { keepAliveDisabled: true }, clock);
  t.equal(clock.pending, 0);
  clock.advance(120_000);
  t.equal(raw.written.length, 0);
});

t.test('accept backlog: streams wait for a listener; beyond the backlog they are reset', async (t) => {
  const { raw, session } = setup('server', { acceptBacklog: 2 });
  const warnings: MuxError[] = [];
  session.on('warning', (w: MuxError) => warnings.push(w));
  raw.send({ cmd: Cmd.SYN, streamId: 3 }, { cmd: Cmd.SYN, streamId: 5 }, { cmd: Cmd.SYN, streamId: 7 });
  raw.send({ cmd: Cmd.PSH, streamId: 3, data: Buffer.from('early') });
  await settle();
  t.same(
    warnings.map((w) => w.code),
    ['ERR_SMUX_ACCEPT_BACKLOG_FULL'],
  );
  t.same(raw.frames().map(describe), ['FIN 7'], 'the third stream is reset with FIN');
  const got: MuxStream[] = [];
  session.on('stream', (s: MuxStream) => got.push(s));
  await settle();
  t.same(
    got.map((s) => s.id),
    [3, 5],
    'queued streams delivered once someone listens',
  );
  const first = got[0] as MuxStream;
  t.equal((first.read() as Buffer | null)?.toString(), 'early', 'data that arrived while queued is kept');
});

t.test('v2: UPD claiming more consumed than sent closes the session (window violation)', async (t) => {
  const { raw, session } = setup('client', { version: 2 });
  const s = session.openStream();
  s.on('error', () => {});
  s.write(Buffer.alloc(10));
  await settle();
  const closed = once(session, 'close');
  raw.send({ version: 2, cmd: Cmd.UPD, streamId: 3, data: encodeUpd({ consumed: 100, window: 65_536 }) });
  const [err] = (await closed) as [MuxError];
  t.equal(err.code, 'ERR_SMUX_WINDOW_VIOLATION');
});

t.test('v2: a writer blocks at the peer window and resumes on UPD', async (t) => {
  const { raw, session } = setup('client', { version: 2, maxFrameBytes: 4096 });
  const s = session.openStream();
  let done = false;
  s.write(Buffer.alloc(300_000), () => (done = true));
  await settle();
  const sent = () =>
    raw
      .frames(2)
      .filter((f) => f.cmd === Cmd.PSH)
      .reduce((n, f) => n + f.data.length, 0);
  t.equal(sent(), 262_144, 'the initial peer window (262144) is all that goes out');
  t.equal(done, false);
  raw.send({ version: 2, cmd: Cmd.UPD, streamId: 3, data: encodeUpd({ consumed: 262_144, window: 65_536 }) });
  await settle();
  t.equal(sent(), 300_000);
  t.equal(done, true);
});

t.test('v1: a UPD frame is parsed and ignored', async (t) => {
  const { raw, session } = setup('client');
  session.openStream();
  raw.send({ cmd: Cmd.UPD, streamId: 3, data: encodeUpd({ consumed: 5, window: 10 }) });
  await settle();
  t.equal(session.isClosed, false);
});

t.test('stream id space exhaustion is a typed error (xtaci "go away" on wrap)', async (t) => {
  const client = new MuxSession(new RawCarrier(), {
    role: 'client',
    config: { keepAliveDisabled: true },
    lastStreamId: 0xfffffffb,
  });
  const server = new MuxSession(new RawCarrier(), {
    role: 'server',
    config: { keepAliveDisabled: true },
    lastStreamId: 0xfffffffa,
  });
  t.teardown(() => {
    client.close();
    server.close();
  });
  t.same([client.openStream().id, client.openStream().id], [0xfffffffd, 0xffffffff], 'last odd ids');
  t.throws(() => client.openStream(), { code: 'ERR_SMUX_STREAM_ID_EXHAUSTED' });
  t.same([server.openStream().id, server.openStream().id], [0xfffffffc, 0xfffffffe], 'last even ids');
  t.throws(() => server.openStream(), { code: 'ERR_SMUX_STREAM_ID_EXHAUSTED' });
  t.equal(client.isClosed, false, 'existing streams keep working');
});
