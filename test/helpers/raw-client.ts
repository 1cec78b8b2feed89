/**
 * A raw data-channel client for gateway tests, built from our codecs over a real `ws` socket.
 * It does exactly what each test tells it (no reliability layer of its own), and checks what the
 * real client checks on every record it receives (decode + SHA-256 digest).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import WebSocket from 'ws';
import { decodeClientMessage, encodeClientMessage, type ClientMessage } from '../../src/protocol/ssm/client-message.js';
import { FlagCode, MessageType, PayloadType } from '../../src/protocol/ssm/message-type.js';
import {
  decodeAcknowledge,
  decodeHandshakeRequest,
  encodeAcknowledge,
  encodeFlag,
  encodeHandshakeResponse,
  encodeOpenDataChannel,
  readSessionTypeParameters,
} from '../../src/protocol/ssm/payloads.js';

export interface RawClientOptions {
  /** Ack every output_stream_data automatically (default true). */
  autoAck?: boolean;
  clientVersion?: string;
  clientId?: string;
}

export class RawClient extends EventEmitter {
  ws: WebSocket;
  readonly clientVersion: string;
  /** Every record received, decoded, in arrival order. */
  readonly received: ClientMessage[] = [];
  /** Output payload bytes received in sequence order (duplicates dropped). */
  readonly output: Buffer[] = [];
  readonly clientId: string;
  autoAck: boolean;
  nextSeq = 0;
  expectedSeq = 0;
  closeCode: number | undefined;
  closeReason = '';
  readonly #reorder = new Map<number, ClientMessage>();

  private constructor(ws: WebSocket, options: RawClientOptions) {
    super();
    this.ws = ws;
    this.autoAck = options.autoAck ?? true;
    this.clientId = options.clientId ?? randomUUID();
    this.clientVersion = options.clientVersion ?? '1.2.677.0';
    this.#bind(ws);
  }

  #bind(ws: WebSocket): void {
    ws.on('message', (data: WebSocket.RawData) => this.#onRecord(data as Buffer));
    ws.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.emit('closed');
    });
    ws.on('error', () => undefined);
  }

  #sendOpen(token: string): void {
    this.ws.send(
      encodeOpenDataChannel({
        messageSchemaVersion: '1.0',
        requestId: randomUUID(),
        tokenValue: token,
        clientId: this.clientId,
        clientVersion: this.clientVersion,
      }),
    );
  }

  /**
   * What the client does after a lost socket: drop the old one (abruptly, unless already gone),
   * open the same StreamUrl with a new token, keep every counter.
   */
  async reattach(streamUrl: string, token: string): Promise<void> {
    const old = this.ws;
    old.removeAllListeners('message');
    old.removeAllListeners('close');
    old.terminate();
    const ws = new WebSocket(streamUrl, { perMessageDeflate: false });
    this.ws = ws;
    this.closeCode = undefined;
    this.#bind(ws);
    await once(ws, 'open');
    this.#sendOpen(token);
  }

  /** Open the StreamUrl and send the OpenDataChannel text frame (nothing comes back for it). */
  static async connect(streamUrl: string, token: string, options: RawClientOptions = {}): Promise<RawClient> {
    const ws = new WebSocket(streamUrl, { perMessageDeflate: false });
    const client = new RawClient(ws, options);
    await once(ws, 'open');
    client.#sendOpen(token);
    return client;
  }

  /** Resolves with the first received record (past or future) that matches. */
  waitFor(pred: (m: ClientMessage) => boolean, from = 0): Promise<ClientMessage> {
    for (let i = from; i < this.received.length; i++) {
      const m = this.received[i] as ClientMessage;
      if (pred(m)) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const onRecord = (m: ClientMessage): void => {
        if (!pred(m)) return;
        cleanup();
        resolve(m);
      };
      const onClosed = (): void => {
        cleanup();
        reject(new Error(`socket closed (${this.closeCode}) before the awaited record`));
      };
      const cleanup = (): void => {
        this.off('record', onRecord);
        this.off('closed', onClosed);
      };
      this.on('record', onRecord);
      this.once('closed', onClosed);
    });
  }

  waitForOutputSeq(seq: number): Promise<ClientMessage> {
    return this.waitFor((m) => m.messageType === MessageType.OutputStreamData && m.sequenceNumber === seq);
  }

  waitForAck(seq: number): Promise<ClientMessage> {
    return this.waitFor(
      (m) =>
        m.messageType === MessageType.Acknowledge &&
        decodeAcknowledge(m.payload).acknowledgedMessageSequenceNumber === seq,
    );
  }

  waitForChannelClosed(): Promise<ClientMessage> {
    return this.waitFor((m) => m.messageType === MessageType.ChannelClosed);
  }

  /** Waits until `n` Output bytes have arrived in order; returns them. */
  async readOutput(n: number): Promise<Buffer> {
    while (this.outputBytes < n) await once(this, 'output');
    return Buffer.concat(this.output).subarray(0, n);
  }

  get outputBytes(): number {
    return this.output.reduce((s, b) => s + b.length, 0);
  }

  /** Send one input_stream_data with the next sequence number (or `seq`). Returns the frame. */
  sendStream(payloadType: PayloadType, payload: Buffer, seq?: number): Buffer {
    const s = seq ?? this.nextSeq++;
    const frame = encodeClientMessage({
      messageType: MessageType.InputStreamData,
      createdDate: Date.now(),
      sequenceNumber: s,
      flags: 0,
      messageId: randomUUID(),
      payloadType,
      payload,
    });
    this.ws.send(frame);
    return frame;
  }

  sendOutput(payload: Buffer): Buffer {
    return this.sendStream(PayloadType.Output, payload);
  }

  sendFlag(code: FlagCode): Buffer {
    return this.sendStream(PayloadType.Flag, encodeFlag(code));
  }

  ack(m: ClientMessage): void {
    this.ws.send(
      encodeClientMessage({
        messageType: MessageType.Acknowledge,
        createdDate: Date.now(),
        sequenceNumber: 0,
        flags: 3,
        messageId: randomUUID(),
        payloadType: 0,
        payload: encodeAcknowledge({
          acknowledgedMessageType: m.messageType,
          acknowledgedMessageId: m.messageId,
          acknowledgedMessageSequenceNumber: m.sequenceNumber,
          isSequentialMessage: true,
        }),
      }),
    );
  }

  /** Wait for the HandshakeRequest, answer it, wait for HandshakeComplete. Returns the request properties. */
  async handshake(
    clientVersion = '1.2.677.0',
    actionStatus = 1,
  ): Promise<{
    agentVersion: string;
    properties: Record<string, string>;
    request: ClientMessage;
    complete: ClientMessage;
  }> {
    const request = await this.waitFor(
      (m) => m.messageType === MessageType.OutputStreamData && m.payloadType === PayloadType.HandshakeRequest,
    );
    const hr = decodeHandshakeRequest(request.payload);
    const action = hr.requestedClientActions[0];
    const properties = action ? readSessionTypeParameters(action).properties : {};
    this.sendStream(
      PayloadType.HandshakeResponse,
      encodeHandshakeResponse({
        clientVersion,
        processedClientActions: hr.requestedClientActions.map((a) => ({
          actionType: a.actionType,
          actionStatus,
          actionResult: null,
          error: actionStatus === 1 ? '' : 'refused by test',
        })),
        errors: null,
      }),
    );
    const complete = await this.waitFor(
      (m) => m.messageType === MessageType.OutputStreamData && m.payloadType === PayloadType.HandshakeComplete,
    );
    return { agentVersion: hr.agentVersion, properties, request, complete };
  }

  close(): void {
    this.ws.close();
  }

  /** Abrupt drop (no close frame), as a lost TCP connection. */
  drop(): void {
    this.ws.terminate();
  }

  #onRecord(data: Buffer): void {
    // The real client verifies the digest; a bad one would be dropped silently. Throwing here
    // makes such a bug fail the test loudly.
    const m = decodeClientMessage(data);
    this.received.push(m);
    if (m.messageType === MessageType.OutputStreamData) {
      if (this.autoAck) this.ack(m);
      if (m.sequenceNumber === this.expectedSeq) {
        this.#accept(m);
        for (
          let next = this.#reorder.get(this.expectedSeq);
          next !== undefined;
          next = this.#reorder.get(this.expectedSeq)
        ) {
          this.#reorder.delete(this.expectedSeq);
          this.#accept(next);
        }
      } else if (m.sequenceNumber > this.expectedSeq) {
        this.#reorder.set(m.sequenceNumber, m);
      }
    }
    this.emit('record', m);
  }

  #accept(m: ClientMessage): void {
    this.expectedSeq += 1;
    if (m.payloadType === PayloadType.Output) {
      const b = Buffer.from(m.payload);
      this.output.push(b);
      this.emit('output', b);
    }
  }
}
