/**
 * The emulated SSM agent running the `Port` session plugin for one session.
 *
 * Behaviour follows amazon-ssm-agent 3.3.1142.0 (docs/protocol.md §W6, §W8):
 *
 * ```
 *  start() ─▶ HandshakeRequest (seq 0, Flags 1) ─▶ awaiting response ──(15 s)──▶ fail "Handshake timed out…"
 *                                                   │ HandshakeResponse (any action status ≠ 1 ⇒ fail)
 *                                                   ▼
 *                                HandshakeComplete (integer ns) ─▶ planning (portNumber, resolve once, deny list)
 *                                                   │ plan failed ⇒ fail with the agent's text
 *                 ┌─────────────────────────────────┴───────────────────────────┐
 *        mux (LocalPortForwarding, agent > 3.0.196.0, client ≥ 1.1.70)  basic (otherwise)
 *        smux server over the channel, keep-alive off iff               dial at once; failure ⇒ fail
 *        agent > 3.1.1511.0 and client > 1.2.331.0; dial per stream;  "Unable to connect to specified port: …";
 *        failure ⇒ Flag ConnectToPortError, then FIN                    DisconnectToPort ⇒ close, re-dial on next Output
 * ```
 *
 * With `kms` (instances with `kmsKeyId`, issue #9) the HandshakeRequest also asks for KMSEncryption
 * and an EncChallengeRequest/Response exchange sits between the response and HandshakeComplete;
 * Output is then sealed both ways (`kms-agent.ts`).
 *
 * The agent ends a session through `onEnd(output)`: '' for success (Flag TerminateSession, an
 * SSH-type destination EOF), the failure text otherwise. The gateway turns that into
 * `channel_closed` for the client, as MGS does with the agent's task result.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../clock.js';
import { MuxSession } from '../../mux/mux-session.js';
import type { MuxStream } from '../../mux/mux-stream.js';
import type { ClientMessage } from '../../protocol/ssm/client-message.js';
import { ActionStatus, FlagCode, PayloadType } from '../../protocol/ssm/message-type.js';
import {
  decodeFlag,
  decodeHandshakeResponse,
  encodeFlag,
  encodeHandshakeComplete,
  encodeHandshakeRequest,
  sessionTypeAction,
} from '../../protocol/ssm/payloads.js';
import {
  agentSupportsKeepAliveDisabled,
  agentSupportsMux,
  clientSupportsKeepAliveDisabled,
  clientSupportsMux,
} from '../../protocol/ssm/versions.js';
import { DataChannelDuplex } from '../../session/data-channel-duplex.js';
import { tickCorker } from '../../session/tick-cork.js';
import type { PacingProfile } from '../pacing.js';
import { AgentChannel } from './agent-channel.js';
import { planDestination, type DialTarget, type ResolvedDestinationMapping } from './destinations.js';
import { DialFailure, dialFirst } from './dialer.js';
import { AgentKmsSession, KMS_CUSTOMER_MESSAGE, type AgentKmsOptions } from './kms-agent.js';

/** The agent's wait for the HandshakeResponse. */
export const AGENT_HANDSHAKE_TIMEOUT_MS = 15_000;
export const HANDSHAKE_TIMEOUT_TEXT =
  'Handshake timed out. Please ensure that you have the latest version of the session manager plugin.';
/** The agent waits this long for its outgoing buffer to drain before closing (§4.3). */
export const AGENT_CLOSE_DRAIN_MS = 2_000;
const CLOSE_DRAIN_POLL_MS = 10;
/**
 * Unacked output window of the emulated agent. The real agent keeps up to 100 000 messages
 * (~100 MB per session with a stuck client); the emulator stops at 10 000 (~10 MB, the client's
 * window) so many sessions stay bounded. Only a client that stops acking can tell the difference.
 */
export const EMULATED_AGENT_WINDOW_MESSAGES = 10_000;
/** Basic mode: client Output held while re-dialing (beyond this: not ready, the client retransmits). */
const MAX_PENDING_WHILE_DIALING = 64;

export type PortMode = 'mux' | 'basic';

export interface PortAgentOptions {
  sessionId: string;
  instanceId: string;
  agentVersion: string;
  /** The document's properties after substitution (values are strings). */
  properties: Record<string, string>;
  clock: Clock;
  pacing: PacingProfile;
  mappings: readonly ResolvedDestinationMapping[];
  denyList: readonly string[];
  /** Hand an encoded record to the gateway. */
  sendFrame: (frame: Buffer) => void;
  /** The session is over for the agent: '' = success, otherwise the failure Output text. */
  onEnd(output: string): void;
  handshakeTimeoutMs?: number;
  resolve?: (host: string) => Promise<string[]>;
  /** Issue #9 (an emulator option; agent 3.3.1142.0 never encrypts Port sessions): request KMS encryption. */
  kms?: AgentKmsOptions;
}

export interface HandshakeInfo {
  clientVersion: string;
  mode: PortMode;
  /** smux keep-alive on the agent side (mux only). */
  keepAlive: boolean;
}

/**
 * Events: `'handshake-complete'`(HandshakeInfo), `'dial'`({ target, ok, error? }),
 * `'connect-to-port-error'`(streamId), `'flag'`(FlagCode), `'stream'`(streamId), `'ended'`(output).
 */
export class PortAgent extends EventEmitter {
  readonly channel: AgentChannel;
  readonly #o: PortAgentOptions;
  #state: 'idle' | 'handshaking' | 'challenging' | 'planning' | 'running' | 'closing' | 'ended' = 'idle';
  readonly #kms: AgentKmsSession | undefined;
  #clientVersion = '';
  #handshakeStartedAt = 0;
  #handshakeTimer: TimerHandle | undefined;
  #drainTimer: TimerHandle | undefined;
  #mode: PortMode | undefined;
  #targets: DialTarget[] = [];
  // mux
  #mux: MuxSession | undefined;
  #duplex: DataChannelDuplex | undefined;
  #dialChain: Promise<void> = Promise.resolve();
  #streams = new Set<MuxStream>();
  #sawClientOutput = false;
  // basic
  #dest: Socket | undefined;
  #dialing = false;
  #pending: Buffer[] = [];
  readonly #sockets = new Set<Socket>();

  constructor(options: PortAgentOptions) {
    super();
    this.#o = options;
    this.#kms =
      options.kms === undefined
        ? undefined
        : new AgentKmsSession(options.kms, { sessionId: options.sessionId, instanceId: options.instanceId });
    this.channel = new AgentChannel({
      clock: options.clock,
      pacing: options.pacing,
      sendFrame: options.sendFrame,
      deliver: (msg) => this.#deliver(msg),
      windowMessages: EMULATED_AGENT_WINDOW_MESSAGES,
    });
  }

  get mode(): PortMode | undefined {
    return this.#mode;
  }

  get isEnded(): boolean {
    return this.#state === 'ended';
  }

  /** Open destination connections (mux streams or the basic-mode socket). */
  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Client bytes held inside the agent (mux receive budget, undecoded carrier bytes, duplex buffer). */
  get inboundBufferedBytes(): number {
    return (
      (this.#mux?.receiveBufferedBytes ?? 0) +
      (this.#mux?.decoderBufferedBytes ?? 0) +
      (this.#duplex?.readableLength ?? 0)
    );
  }

  /** Send the HandshakeRequest (call once a client is attached). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'handshaking';
    this.#handshakeStartedAt = this.#o.clock.now();
    const request = encodeHandshakeRequest({
      agentVersion: this.#o.agentVersion,
      requestedClientActions: [
        sessionTypeAction({ sessionType: 'Port', properties: this.#o.properties }),
        ...(this.#kms === undefined ? [] : [this.#kms.requestedAction()]),
      ],
    });
    this.channel.sendMessage(PayloadType.HandshakeRequest, request);
    this.#armHandshakeTimer();
  }

  /** The agent waits 15 s for the HandshakeResponse, and another 15 s for the EncChallengeResponse. */
  #armHandshakeTimer(): void {
    if (this.#handshakeTimer !== undefined) this.#o.clock.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = this.#o.clock.setTimeout(() => {
      this.#handshakeTimer = undefined;
      if (this.#state === 'handshaking' || this.#state === 'challenging') this.#end(HANDSHAKE_TIMEOUT_TEXT);
    }, this.#o.handshakeTimeoutMs ?? AGENT_HANDSHAKE_TIMEOUT_MS);
  }

  /** A client websocket is attached or gone (the agent pauses output while nobody listens). */
  setConnected(connected: boolean): void {
    this.channel.setConnected(connected);
  }

  /** A record from the client. */
  handleMessage(msg: ClientMessage): void {
    this.channel.handleMessage(msg);
  }

  /** Stop at once without reporting anything (session terminated from outside, emulator closing). */
  stop(): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#teardown();
  }

  // ---------------------------------------------------------------------------------------------

  #deliver(msg: ClientMessage): boolean {
    switch (this.#state) {
      case 'handshaking':
        if (msg.payloadType === PayloadType.HandshakeResponse) this.#onHandshakeResponse(msg.payload);
        // INTEROP: other stream data before the handshake completes is acked and discarded.
        return true;
      case 'challenging':
        if (msg.payloadType === PayloadType.EncChallengeResponse) this.#onChallengeResponse(msg.payload);
        return true;
      case 'planning':
        // The plugin is not ready yet: no ack, the client retransmits.
        return msg.payloadType !== PayloadType.Output;
      case 'running':
        return this.#onRunningMessage(msg);
      default:
        return true;
    }
  }

  #onHandshakeResponse(payload: Buffer): void {
    let response;
    try {
      response = decodeHandshakeResponse(payload);
    } catch (e) {
      this.#end(`Handshake failed: ${(e as Error).message}`);
      return;
    }
    for (const a of response.processedClientActions) {
      if (a.actionStatus !== ActionStatus.Success) {
        this.#end(`${a.actionType} failed on client with status ${a.actionStatus} error: ${a.error}`);
        return;
      }
    }
    this.#clientVersion = response.clientVersion;
    if (this.#kms !== undefined) {
      // KMS: unwrap the client's data key, then EncChallengeRequest (agent seq 1) before HandshakeComplete.
      const step = this.#kms.handleHandshakeResponse(response.processedClientActions);
      if (!step.ok) return void this.#end(step.output);
      this.#state = 'challenging';
      this.#armHandshakeTimer();
      this.channel.sendMessage(PayloadType.EncChallengeRequest, step.value);
      return;
    }
    this.#completeHandshake('');
  }

  #onChallengeResponse(payload: Buffer): void {
    const kms = this.#kms;
    if (kms === undefined) return;
    const verdict = kms.handleChallengeResponse(payload);
    if (!verdict.ok) return void this.#end(verdict.output);
    // Output is sealed from here on; HandshakeComplete itself is not (only Output is).
    this.channel.setOutputSeal((p) => kms.seal(p));
    this.#completeHandshake(KMS_CUSTOMER_MESSAGE);
  }

  #completeHandshake(customerMessage: string): void {
    if (this.#handshakeTimer !== undefined) this.#o.clock.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const elapsedNs = Math.max(1, Math.round((this.#o.clock.now() - this.#handshakeStartedAt) * 1e6));
    this.channel.sendMessage(
      PayloadType.HandshakeComplete,
      encodeHandshakeComplete({ handshakeTimeToCompleteNs: elapsedNs, customerMessage }),
    );
    const clientVersion = this.#clientVersion;
    const isForwarding = this.#o.properties['type'] === 'LocalPortForwarding';
    // INTEROP: the agent decides on the client's version, but an emulated agent must also
    // behave like its own release: agents up to 3.0.196.0 have no smux at all (the client gate
    // is "AgentVersion > 3.0.196.0"), and agents up to 3.1.1511.0 always keep smux keep-alive on.
    const agentVersion = this.#o.agentVersion;
    this.#mode = isForwarding && agentSupportsMux(agentVersion) && clientSupportsMux(clientVersion) ? 'mux' : 'basic';
    const keepAlive =
      this.#mode === 'mux' &&
      !(agentSupportsKeepAliveDisabled(agentVersion) && clientSupportsKeepAliveDisabled(clientVersion));
    this.#state = 'planning';
    this.emit('handshake-complete', { clientVersion, mode: this.#mode, keepAlive } satisfies HandshakeInfo);
    void this.#plan(keepAlive);
  }

  async #plan(keepAlive: boolean): Promise<void> {
    const planInput: Parameters<typeof planDestination>[0] = {
      instanceId: this.#o.instanceId,
      host: this.#o.properties['host'],
      portNumber: this.#o.properties['portNumber'],
      properties: this.#o.properties,
      mappings: this.#o.mappings,
      denyList: this.#o.denyList,
      agentVersion: this.#o.agentVersion,
    };
    if (this.#o.resolve) planInput.resolve = this.#o.resolve;
    const plan = await planDestination(planInput);
    if (this.#state !== 'planning') return;
    if (!plan.ok) return void this.#end(plan.output);
    this.#targets = plan.targets;
    if (this.#mode === 'mux') {
      this.#startMux(keepAlive);
      this.#state = 'running';
    } else {
      try {
        this.#attachDest(await this.#dial());
      } catch (e) {
        if (this.#state === 'planning')
          this.#end(`Unable to connect to specified port: ${(e as DialFailure).text ?? String(e)}`);
        return;
      }
      if (this.#state !== 'planning') return void this.#dest?.destroy();
      this.#state = 'running';
    }
  }

  async #dial(): Promise<Socket> {
    try {
      const s = await dialFirst(this.#targets);
      this.emit('dial', { target: this.#targets[0], ok: true });
      return s;
    } catch (e) {
      const text = e instanceof DialFailure ? e.text : String(e);
      this.emit('dial', { target: this.#targets[0], ok: false, error: text });
      throw e instanceof DialFailure ? e : new DialFailure(text);
    }
  }

  #onRunningMessage(msg: ClientMessage): boolean {
    if (msg.payloadType === PayloadType.Flag) {
      let flag: FlagCode;
      try {
        flag = decodeFlag(msg.payload);
      } catch {
        return true; // acked and ignored
      }
      this.emit('flag', flag);
      if (flag === FlagCode.TerminateSession) {
        // Acked first (the link acks after deliver returns), then the plugin returns success.
        queueMicrotask(() => this.#endAfterDrain(''));
      } else if (flag === FlagCode.DisconnectToPort && this.#mode === 'basic') {
        this.#dest?.destroy();
      }
      return true;
    }
    if (msg.payloadType !== PayloadType.Output) return true; // other types: acked and ignored
    let payload = msg.payload;
    if (this.#kms !== undefined) {
      try {
        payload = this.#kms.open(payload);
      } catch (e) {
        // Tampered or plaintext Output on an encrypted session: the plugin fails.
        this.#end(`Failed to decrypt client data: ${(e as Error).message}`);
        return true;
      }
    }
    if (this.#mode === 'mux') {
      // Accepted even while the consumer is paused: the gateway has stopped reading the client's
      // socket, so only records already in flight arrive (bounded), and acks keep flowing.
      if (!this.#sawClientOutput) {
        this.#sawClientOutput = true;
        this.channel.releaseOutput();
      }
      this.channel.pushData(payload);
      return true;
    }
    return this.#basicOutput(payload);
  }

  // ---- mux ------------------------------------------------------------------------------------

  #startMux(keepAlive: boolean): void {
    this.channel.holdOutputUntilClientOutput();
    const duplex = new DataChannelDuplex(this.channel);
    this.#duplex = duplex;
    duplex.on('error', () => undefined);
    const mux = new MuxSession(duplex, {
      role: 'server',
      config: { version: 1, keepAliveDisabled: !keepAlive },
      clock: this.#o.clock,
    });
    this.#mux = mux;
    mux.on('stream', (stream: MuxStream) => this.#onStream(stream));
    mux.on('warning', () => undefined);
    mux.on('close', (err?: Error) => {
      // An smux protocol error or keep-alive timeout ends the plugin with a failure.
      if (err !== undefined && this.#state === 'running') this.#end(err.message);
    });
  }

  #onStream(stream: MuxStream): void {
    this.#streams.add(stream);
    stream.on('error', () => undefined);
    stream.on('close', () => this.#streams.delete(stream));
    this.emit('stream', stream.id);
    // INTEROP: the agent dials inside its accept loop, so dials are one at a time, in order.
    this.#dialChain = this.#dialChain.then(async () => {
      if (this.#state !== 'running' || stream.destroyed) return;
      let socket: Socket;
      try {
        socket = await this.#dial();
      } catch {
        if (this.#state !== 'running') return;
        // The flag goes first through the same FIFO, then the stream's FIN.
        this.channel.sendMessage(PayloadType.Flag, encodeFlag(FlagCode.ConnectToPortError));
        this.emit('connect-to-port-error', stream.id);
        stream.destroy();
        return;
      }
      if (this.#state !== 'running' || stream.destroyed) return void socket.destroy();
      this.#bridge(stream, socket);
    });
  }

  /** Copy both ways; when either direction ends, close the other fully (no half-close). */
  #bridge(stream: MuxStream, socket: Socket): void {
    this.#sockets.add(socket);
    let closed = false;
    const closeBoth = (): void => {
      if (closed) return;
      closed = true;
      socket.destroy();
      // Flush what is already written to the stream, then FIN and forget it (smux Close()).
      stream.end(() => stream.destroy());
    };
    socket.on('data', (chunk: Buffer) => {
      if (!stream.write(chunk)) socket.pause();
    });
    stream.on('drain', () => socket.resume());
    // One writev per turn for the ≤ 1 KiB chunks one websocket read becomes.
    const cork = tickCorker(socket);
    stream.on('data', (chunk: Buffer) => {
      cork();
      if (!socket.write(chunk)) stream.pause();
    });
    socket.on('drain', () => stream.resume());
    socket.on('end', closeBoth);
    socket.on('error', closeBoth);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      closeBoth();
    });
    // Client FIN: as the real agent (its stream→destination copy returns at EOF, then Close()):
    // everything the client sent is handed to the kernel first, then the destination connection
    // is closed fully, not half-closed. Destroying at once would drop writes still buffered here.
    stream.on('end', () => {
      if (closed || socket.destroyed) return closeBoth();
      socket.write(Buffer.alloc(0), () => closeBoth());
    });
    stream.on('close', () => {
      if (!closed) {
        closed = true;
        socket.destroy();
      }
    });
  }

  // ---- basic ----------------------------------------------------------------------------------

  #attachDest(socket: Socket): void {
    this.#dest = socket;
    this.#sockets.add(socket);
    const onDrainChannel = (): void => {
      socket.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      if (!this.channel.sendData(chunk)) {
        socket.pause();
        this.channel.once('drain', onDrainChannel);
      }
    });
    socket.on('drain', () => this.channel.resumeReceiving());
    const gone = (err?: Error): void => {
      if (this.#dest !== socket) return;
      this.#dest = undefined;
      this.#sockets.delete(socket);
      socket.destroy();
      this.channel.resumeReceiving();
      if (this.#state !== 'running') return;
      if (this.#o.properties['type'] === 'LocalPortForwarding') {
        // The client is not told; its next Output re-dials.
      } else if (err === undefined) {
        this.#endAfterDrain('');
      } else {
        this.#end(err.message);
      }
    };
    socket.on('error', (e) => gone(e));
    socket.on('close', () => gone());
    for (const p of this.#pending.splice(0)) this.#writeDest(socket, p);
  }

  #writeDest(socket: Socket, payload: Buffer): void {
    if (!socket.write(payload)) this.channel.pauseReceiving();
  }

  #basicOutput(payload: Buffer): boolean {
    if (this.#dest !== undefined && !this.#dest.destroyed) {
      this.#writeDest(this.#dest, payload);
      return true;
    }
    if (this.#pending.length >= MAX_PENDING_WHILE_DIALING) return false;
    this.#pending.push(payload);
    if (!this.#dialing) {
      this.#dialing = true;
      this.#dial().then(
        (socket) => {
          this.#dialing = false;
          if (this.#state !== 'running') return void socket.destroy();
          this.#attachDest(socket);
        },
        (e: unknown) => {
          this.#dialing = false;
          this.#pending = [];
          if (this.#state === 'running')
            this.#end(`Unable to connect to specified port: ${(e as DialFailure).text ?? String(e)}`);
        },
      );
    }
    return true;
  }

  // ---- ending ---------------------------------------------------------------------------------

  /**
   * The plugin returned (success or failure): what it produced goes out, then the agent waits
   * (≤ 2 s, §4.3) for its outgoing messages to be acked before it reports the result, which the
   * gateway turns into channel_closed.
   */
  #endAfterDrain(output: string): void {
    if (this.#state === 'ended' || this.#state === 'closing') return;
    this.#state = 'closing';
    if (this.#handshakeTimer !== undefined) this.#o.clock.clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#closeConnections();
    this.channel.flush();
    const deadline = this.#o.clock.now() + AGENT_CLOSE_DRAIN_MS;
    const check = (): void => {
      this.#drainTimer = undefined;
      if (this.#state === 'ended') return;
      if (this.channel.link.unackedCount === 0 || !this.channel.isConnected || this.#o.clock.now() >= deadline)
        this.#report(output);
      else this.#drainTimer = this.#o.clock.setTimeout(check, CLOSE_DRAIN_POLL_MS);
    };
    check();
  }

  /** A failure: report it with its text (after the drain wait). */
  #end(output: string): void {
    this.#endAfterDrain(output);
  }

  #report(output: string): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#teardown();
    this.emit('ended', output);
    this.#o.onEnd(output);
  }

  #closeConnections(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#dest = undefined;
    this.#mux?.close();
  }

  #teardown(): void {
    if (this.#handshakeTimer !== undefined) this.#o.clock.clearTimeout(this.#handshakeTimer);
    if (this.#drainTimer !== undefined) this.#o.clock.clearTimeout(this.#drainTimer);
    this.#handshakeTimer = undefined;
    this.#drainTimer = undefined;
    this.#closeConnections();
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
    this.#duplex?.destroy();
    this.channel.close();
  }
}
