/**
 * tunnel/connection.ts on its own: a real local TCP connection on 127.0.0.1 (the accepted socket
 * is the Connection's, the client is the test's), run over an in-memory smux stream (mux mode) or
 * a fake data channel (basic mode). Assertions are on the bytes each side sees and on how the
 * client's connection ends: FIN or reset.
 */
import { EventEmitter, once } from 'node:events';
import type { Socket } from 'node:net';
import t from 'tap';
import { Connection, type ConnectionHooks } from '../../src/tunnel/connection.js';
import { FLAG_DISCONNECT_TO_PORT, type ChannelPort, type HandshakeInfo } from '../../src/tunnel/session-ports.js';
import { createDuplexPair, type DuplexPairEnd } from '../helpers/duplex-pair.js';
import { collect, judge, listen, readBytes } from '../helpers/local-pair.js';

class Hooks implements ConnectionHooks {
  bytesIn = 0;
  bytesOut = 0;
  remoteEnds = 0;
  /** What onRemoteEnd answers (true = close the local socket once flushed). */
  closeOnRemoteEnd = false;
  closes: Array<Error | undefined> = [];
  readonly remoteEnded: Promise<void>;
  readonly closed: Promise<Error | undefined>;
  #remoteEnded!: () => void;
  #closed!: (e: Error | undefined) => void;
  constructor() {
    this.remoteEnded = new Promise((r) => (this.#remoteEnded = r));
    this.closed = new Promise((r) => (this.#closed = r));
  }
  onBytesIn(n: number): void {
    this.bytesIn += n;
  }
  onBytesOut(n: number): void {
    this.bytesOut += n;
  }
  onRemoteEnd(): boolean {
    this.remoteEnds++;
    this.#remoteEnded();
    return this.closeOnRemoteEnd;
  }
  onClose(_c: Connection, e: Error | undefined): void {
    this.closes.push(e);
    this.#closed(e);
  }
}

function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/**
 * A Connection on `socket` attached to one end of an in-memory stream pair; the test plays the
 * agent on `remote`. `finReceived` is what the stream reports about the peer's FIN.
 */
function attachMux(
  socket: Socket,
  opts: { finReceived?: boolean; closeOnRemoteEnd?: boolean } = {},
): { stream: DuplexPairEnd; remote: DuplexPairEnd; hooks: Hooks; conn: Connection } {
  const [stream, remote] = createDuplexPair();
  if (opts.finReceived !== undefined) Object.defineProperty(stream, 'finReceived', { value: opts.finReceived });
  const hooks = new Hooks();
  hooks.closeOnRemoteEnd = opts.closeOnRemoteEnd ?? false;
  const conn = new Connection(1, socket, 0);
  conn.attachStream(stream, hooks);
  return { stream, remote, hooks, conn };
}

// ---- mux mode ----------------------------------------------------------------------------------

t.test('mux: bytes both ways; the peer FIN becomes a local FIN after every byte', async (t) => {
  const local = await (await listen(t))();
  const { stream, remote, hooks, conn } = attachMux(local.socket, { finReceived: true });
  const ending = judge(local.client);
  const fromClient = collect(remote);

  const up = pattern(100_000, 1);
  local.client.write(up);

  const down = pattern(300_000, 2);
  remote.end(down);
  const e = await ending;
  t.equal(e.end, 'fin');
  t.equal(e.data.length, down.length);
  t.ok(e.data.equals(down), 'stream → client, complete, then FIN');
  t.equal(hooks.remoteEnds, 1);
  t.equal(conn.bytesIn, down.length);
  t.equal(hooks.bytesIn, down.length);

  local.client.end();
  await fromClient.ended;
  t.ok(
    fromClient.data().equals(Buffer.concat([up, Buffer.from('?')])),
    'client → stream in order, the byte written after the FIN too (half-open), then FIN',
  );
  t.equal(await hooks.closed, undefined, 'closed once both directions are done, with no error');
  t.equal(conn.bytesOut, up.length + 1);
  t.equal(hooks.bytesOut, up.length + 1);
  t.equal(hooks.closes.length, 1);
  t.ok(conn.closed);
  t.ok(stream.destroyed);
});

t.test('mux: a local EOF is an smux FIN; the reply still reaches the client (half-close)', async (t) => {
  const local = await (await listen(t))();
  const { remote, hooks } = attachMux(local.socket, { finReceived: true });
  const ending = judge(local.client);
  const fromClient = collect(remote);
  local.client.end('request');
  await fromClient.ended;
  t.equal(fromClient.data().toString(), 'request', 'the request, then the stream ends (FIN)');
  remote.end('reply after the FIN');
  const e = await ending;
  t.equal(e.data.toString(), 'reply after the FIN');
  await hooks.closed;
});

t.test('mux: a stream that ends without the peer FIN resets the client after partial data', async (t) => {
  const local = await (await listen(t))();
  const { remote, hooks, conn } = attachMux(local.socket, { finReceived: false });
  const ending = judge(local.client);
  remote.write(pattern(50_000));
  await once(local.client, 'data');
  remote.end();
  const e = await ending;
  t.equal(e.end, 'reset', `never a FIN after partial data (${e.code ?? ''})`);
  t.equal(hooks.remoteEnds, 0, 'not reported as a remote end');
  await hooks.closed;
  t.ok(conn.closed);
});

t.test('mux: a stream error resets the client and is the connection error', async (t) => {
  const local = await (await listen(t))();
  const { stream, remote, hooks, conn } = attachMux(local.socket);
  const ending = judge(local.client);
  remote.write('partial');
  await once(local.client, 'data');
  const boom = new Error('stream reset by peer');
  stream.destroy(boom);
  t.equal((await ending).end, 'reset');
  t.equal(await hooks.closed, boom);
  t.equal(conn.error, boom);
});

t.test('mux: abort() resets the client, records the reason and destroys the stream', async (t) => {
  const local = await (await listen(t))();
  const { stream, remote, hooks, conn } = attachMux(local.socket, { finReceived: true });
  const ending = judge(local.client);
  remote.write('some');
  await once(local.client, 'data');
  const why = new Error('session lost');
  conn.abort(why);
  conn.abort(new Error('second reason is ignored'));
  t.equal((await ending).end, 'reset');
  t.equal(await hooks.closed, why);
  t.equal(conn.error, why);
  t.ok(stream.destroyed, 'the stream goes with the socket');
});

t.test('mux: abort() after the peer FIN leaves the flush alone; forceReset() does not', async (t) => {
  const next = await listen(t);
  const size = 4 * 1024 * 1024;
  for (const force of [false, true]) {
    const local = await next();
    const { remote, hooks, conn } = attachMux(local.socket, { finReceived: true });
    // The client reads nothing until the peer's FIN has reached the connection and abort ran.
    let aborted!: () => void;
    const ending = judge(local.client, new Promise<void>((r) => (aborted = r)));
    remote.end(pattern(size, 3));
    await hooks.remoteEnded;
    if (force) conn.forceReset();
    else conn.abort(new Error('shutdown'));
    aborted();
    const e = await ending;
    if (force) t.equal(e.end, 'reset', 'forceReset: reset even while flushing');
    else {
      t.equal(e.end, 'fin', 'abort: the clean end is kept');
      t.equal(e.data.length, size);
      t.ok(e.data.equals(pattern(size, 3)), 'every byte arrived');
      local.client.end();
    }
    await hooks.closed;
  }
});

t.test('mux: onRemoteEnd() true closes the local socket once the data is flushed', async (t) => {
  const local = await (await listen(t))();
  const { remote, hooks } = attachMux(local.socket, { finReceived: true, closeOnRemoteEnd: true });
  const got = collect(local.client);
  local.client.on('error', () => {});
  remote.end('last words');
  await hooks.closed; // without the client ending its side
  await got.ended;
  t.equal(got.data().toString(), 'last words');
});

t.test('mux: a client reset destroys the stream; the error is reported', async (t) => {
  const local = await (await listen(t))();
  const { stream, remote, hooks } = attachMux(local.socket);
  local.client.write('x');
  await readBytes(remote, 1);
  local.client.resetAndDestroy();
  const err = await hooks.closed;
  t.equal((err as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
  t.ok(stream.destroyed);
});

// ---- basic mode --------------------------------------------------------------------------------

/** A basic-mode data channel: records what is sent, in order; the test pushes what the agent sends. */
class FakeBasicChannel extends EventEmitter implements ChannelPort {
  /** Everything sent, in order: data chunks and flags. */
  log: Array<{ data: Buffer } | { flag: number }> = [];
  /** sendData answers this (false = unacked window full; 'drain' comes from the test). */
  accepting = true;
  sendsWhileFull = 0;
  #full = false;
  paused = false;
  pauses = 0;
  resumes = 0;
  async open(): Promise<HandshakeInfo> {
    throw new Error('not used');
  }
  sendData(buf: Buffer): boolean {
    if (this.#full) this.sendsWhileFull++;
    this.log.push({ data: Buffer.from(buf) });
    this.#full = !this.accepting;
    this.emit('sent');
    return this.accepting;
  }
  drain(): void {
    this.accepting = true;
    this.#full = false;
    this.emit('drain');
  }
  sendFlag(code: number): void {
    this.log.push({ flag: code });
  }
  pauseReceiving(): void {
    this.paused = true;
    this.pauses++;
    this.emit('paused');
  }
  resumeReceiving(): void {
    if (this.paused) this.resumes++;
    this.paused = false;
    this.emit('resumed');
  }
  async terminate(): Promise<void> {}
  close(): void {}
  sent(): Buffer {
    return Buffer.concat(this.log.flatMap((e) => ('data' in e ? [e.data] : [])));
  }
  flags(): number[] {
    return this.log.flatMap((e) => ('flag' in e ? [e.flag] : []));
  }
}

t.test('basic: bytes both ways; local EOF sends DisconnectToPort after the data and frees the channel', async (t) => {
  const local = await (await listen(t))();
  const ch = new FakeBasicChannel();
  const hooks = new Hooks();
  const conn = new Connection(1, local.socket, 0);
  conn.attachChannel(ch, hooks);
  const got = collect(local.client);

  const up = pattern(200_000, 4);
  local.client.end(up);
  ch.emit('data', Buffer.from('hello from the agent'));
  t.equal(await hooks.closed, undefined);
  await got.ended;
  t.equal(got.data().toString(), 'hello from the agent', 'channel → client');
  t.ok(ch.sent().equals(up), 'client → channel, every byte in order');
  t.same(ch.flags(), [FLAG_DISCONNECT_TO_PORT], 'one DisconnectToPort');
  t.ok('flag' in (ch.log.at(-1) ?? {}), 'the flag comes after the last data');
  t.equal(conn.bytesOut, up.length);
  t.equal(hooks.bytesOut, up.length);
  t.equal(conn.bytesIn, 20);
  t.equal(hooks.bytesIn, 20);
  for (const ev of ['data', 'drain', 'closed', 'error']) t.equal(ch.listenerCount(ev), 0, `no '${ev}' listener left`);
});

t.test('basic: a full channel holds later writes; DisconnectToPort and close wait for the flush', async (t) => {
  const local = await (await listen(t))();
  const ch = new FakeBasicChannel();
  ch.accepting = false;
  const hooks = new Hooks();
  new Connection(1, local.socket, 0).attachChannel(ch, hooks);
  local.client.on('data', () => {});
  local.client.write('first');
  await once(ch, 'sent');
  local.client.end('second');
  // The local side is done (EOF both ways), but 'second' waits for the channel's drain.
  await once(local.socket, 'close');
  await new Promise((r) => setImmediate(r));
  t.equal(ch.sent().toString(), 'first', 'the channel is asked for nothing more until it drains');
  t.same(ch.flags(), [], 'no DisconnectToPort while data is held');
  t.same(hooks.closes, [], 'not reported closed while data is held');
  ch.drain();
  await hooks.closed;
  t.equal(ch.sendsWhileFull, 0, 'never sent into a full window');
  t.equal(ch.sent().toString(), 'firstsecond');
  t.same(ch.flags(), [FLAG_DISCONNECT_TO_PORT]);
  t.ok('flag' in (ch.log.at(-1) ?? {}), 'the flag follows the last data');
});

t.test('basic: a full channel pauses the client socket (bounded buffering)', async (t) => {
  const local = await (await listen(t))();
  const ch = new FakeBasicChannel();
  ch.accepting = false;
  const hooks = new Hooks();
  new Connection(1, local.socket, 0).attachChannel(ch, hooks);
  const total = 32 * 1024 * 1024;
  const up = pattern(total, 6);
  local.client.end(up);
  // Wait for the client to stop making progress: its write buffer stays non-empty because the
  // Connection stopped reading (kernel buffers are finite).
  await once(ch, 'sent');
  while (local.client.writableLength === 0 || hooks.bytesOut === 0) await new Promise((r) => setImmediate(r));
  const before = hooks.bytesOut;
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.equal(hooks.bytesOut, before, 'the socket is not read while the channel is full');
  t.ok(hooks.bytesOut < total, `${hooks.bytesOut} of ${total} bytes read from the client`);
  t.equal(ch.log.length, 1, 'one sendData (answered false), nothing more');
  ch.drain();
  await hooks.closed;
  t.ok(ch.sent().equals(up), 'after the drain, every byte in order');
  t.same(ch.flags(), [FLAG_DISCONNECT_TO_PORT]);
});

t.test('basic: a client that does not read pauses the channel; reading resumes it, bytes in order', async (t) => {
  const local = await (await listen(t))();
  const ch = new FakeBasicChannel();
  const hooks = new Hooks();
  new Connection(1, local.socket, 0).attachChannel(ch, hooks);
  local.client.pause();
  const chunk = 64 * 1024;
  let sent = 0;
  // The agent sends while the channel delivers (loopback buffers are finite; the bound only keeps
  // a broken implementation from looping forever).
  while (!ch.paused && sent < 256 * 1024 * 1024) {
    ch.emit('data', pattern(chunk, sent / chunk));
    sent += chunk;
  }
  t.ok(ch.paused, `pauseReceiving after ${sent} bytes`);
  const expected = Buffer.concat(Array.from({ length: sent / chunk }, (_, i) => pattern(chunk, i)));
  const reading = readBytes(local.client, sent);
  local.client.resume();
  await once(ch, 'resumed');
  t.equal(ch.resumes, 1, 'resumed once the client read');
  t.ok((await reading).equals(expected), 'every byte, in order');
  t.equal(hooks.bytesIn, sent);
  local.client.end();
  await hooks.closed;
  t.same(ch.flags(), [FLAG_DISCONNECT_TO_PORT]);
});

t.test('basic: the session died: detach() + abort() reset the client and send no flag', async (t) => {
  const local = await (await listen(t))();
  const ch = new FakeBasicChannel();
  const hooks = new Hooks();
  const conn = new Connection(1, local.socket, 0);
  conn.attachChannel(ch, hooks);
  const ending = judge(local.client);
  ch.emit('data', pattern(10_000));
  await once(local.client, 'data');
  conn.detach();
  t.equal(ch.listenerCount('data'), 0, 'detach stops listening at once');
  conn.abort(new Error('session lost'));
  t.equal((await ending).end, 'reset');
  await hooks.closed;
  t.same(ch.flags(), [], 'no DisconnectToPort to a dead session');
});

t.test('basic: channel_closed under a live connection resets it, with no flag', async (t) => {
  const local = await (await listen(t))();
  const ch = new FakeBasicChannel();
  const hooks = new Hooks();
  new Connection(1, local.socket, 0).attachChannel(ch, hooks);
  const ending = judge(local.client);
  ch.emit('data', Buffer.from('partial'));
  await once(local.client, 'data');
  ch.emit('closed', { output: '' });
  const e = await ending;
  t.equal(e.end, 'reset', 'never a FIN: the data may be cut short');
  await hooks.closed;
  t.same(ch.flags(), []);
});

t.test('basic: the channel carries successive connections; a closed one takes no more bytes', async (t) => {
  const next = await listen(t);
  const ch = new FakeBasicChannel();
  const first = await next();
  const h1 = new Hooks();
  const c1 = new Connection(1, first.socket, 0);
  c1.attachChannel(ch, h1);
  first.client.on('data', () => {});
  first.client.end('one');
  await h1.closed;
  t.same(ch.flags(), [FLAG_DISCONNECT_TO_PORT]);

  const second = await next();
  const h2 = new Hooks();
  new Connection(2, second.socket, 0).attachChannel(ch, h2);
  const got = collect(second.client);
  ch.emit('data', Buffer.from('for the second'));
  second.client.end('two');
  await h2.closed;
  await got.ended;
  t.equal(got.data().toString(), 'for the second');
  t.equal(c1.bytesIn, 0, 'the first connection saw none of it');
  t.equal(ch.sent().toString(), 'onetwo');
  t.same(ch.flags(), [FLAG_DISCONNECT_TO_PORT, FLAG_DISCONNECT_TO_PORT]);
});
