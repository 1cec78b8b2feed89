/** Fakes of the engine's ports (SsmApi, data channel, mux) for engine tests without the emulator. */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type { SsmApi, StartSessionInput } from '../../src/aws/ssm-api.js';
import type { AwsError } from '../../src/errors.js';
import type {
  ChannelInit,
  ChannelPort,
  HandshakeInfo,
  MuxPort,
  SessionFactory,
} from '../../src/tunnel/session-ports.js';

export class FakeApi implements SsmApi {
  started: StartSessionInput[] = [];
  terminated: string[] = [];
  resumed: string[] = [];
  /** Errors thrown by the next StartSession calls, in order. */
  startErrors: AwsError[] = [];
  #n = 0;
  async startSession(input: StartSessionInput) {
    this.started.push(input);
    const e = this.startErrors.shift();
    if (e !== undefined) throw e;
    this.#n++;
    return {
      sessionId: `user-${String(this.#n).padStart(17, '0')}`,
      streamUrl: `ws://127.0.0.1:1/v1/data-channel/s${this.#n}`,
      tokenValue: `SECRET-TOKEN-${this.#n}-abcdefgh`,
    };
  }
  async resumeSession(id: string) {
    this.resumed.push(id);
    return undefined;
  }
  async terminateSession(id: string) {
    this.terminated.push(id);
  }
  async describeInstances() {
    return [];
  }
  async listTags() {
    return {};
  }
}

/** A stream whose remote end echoes every byte and answers FIN with FIN. */
export function echoStream(): Duplex {
  return new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      this.push(chunk);
      cb();
    },
    final(cb) {
      this.push(null);
      cb();
    },
  });
}

export class FakeMux extends EventEmitter implements MuxPort {
  isClosed = false;
  /** Set to simulate a slow local reader holding this session's budget. */
  stalled = false;
  streams: Duplex[] = [];
  /** When set, the next stream is "refused": the channel emits Flag 3 and the stream ends with no data. */
  refuseNext: FakeChannel | undefined;
  openStream(): Duplex {
    if (this.isClosed) throw new Error('closed');
    const refuser = this.refuseNext;
    this.refuseNext = undefined;
    let s: Duplex;
    if (refuser !== undefined) {
      s = new Duplex({
        read() {},
        write(_c, _e, cb) {
          cb();
        },
      });
      setImmediate(() => {
        refuser.emit('flag', 3);
        s.push(null);
      });
    } else s = echoStream();
    this.streams.push(s);
    return s;
  }
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const s of this.streams) s.destroy();
  }
}

export class FakeChannel extends EventEmitter implements ChannelPort {
  readonly init: ChannelInit;
  readonly hs: HandshakeInfo;
  flags: number[] = [];
  terminated = false;
  closed = false;
  mux: FakeMux | undefined;
  /** Output of a channel_closed to send right after the handshake. */
  closeAfterOpen: string | undefined;
  constructor(init: ChannelInit, hs: HandshakeInfo) {
    super();
    this.init = init;
    this.hs = hs;
  }
  async open(): Promise<HandshakeInfo> {
    if (this.closeAfterOpen !== undefined) {
      const out = this.closeAfterOpen;
      setImmediate(() => this.emit('closed', { output: out }));
    }
    return this.hs;
  }
  /** Basic mode: the remote side echoes. */
  sendData(buf: Buffer): boolean {
    setImmediate(() => this.emit('data', Buffer.from(buf)));
    return true;
  }
  sendFlag(code: number): void {
    this.flags.push(code);
  }
  pauseReceiving(): void {}
  resumeReceiving(): void {}
  async terminate(): Promise<void> {
    this.terminated = true;
    this.close();
  }
  close(): void {
    this.closed = true;
  }
  /** Simulate the service ending the session. */
  serviceClose(output: string): void {
    this.emit('closed', { output });
  }
}

export class FakeFactory implements SessionFactory {
  channels: FakeChannel[] = [];
  hs: HandshakeInfo = {
    agentVersion: '3.3.1142.0',
    portMode: 'mux',
    smuxKeepAlive: false,
    canSendTerminateFlag: true,
    customerMessage: '',
  };
  closeAfterOpen: string | undefined;
  createChannel(init: ChannelInit): ChannelPort {
    const c = new FakeChannel(init, this.hs);
    if (this.closeAfterOpen !== undefined) c.closeAfterOpen = this.closeAfterOpen;
    this.channels.push(c);
    return c;
  }
  createMux(channel: ChannelPort): MuxPort {
    const m = new FakeMux();
    (channel as FakeChannel).mux = m;
    return m;
  }
}
