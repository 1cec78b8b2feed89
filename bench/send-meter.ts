/**
 * Measures the emulator's own send rate: the Output payload bytes its gateway writes to client
 * websockets, per unit time. It wraps `ws`'s `WebSocket.prototype.send` inside the emulator's
 * child process only (the only websockets there are the gateway's server side), so it needs no
 * hook in the emulator and sees exactly what leaves for the tunnel.
 *
 * A ClientMessage frame is `HeaderLength u32 | MessageType [32]byte | SchemaVersion u32 |
 * CreatedDate u64 | SequenceNumber i64 | Flags u64 | MessageId [16] | PayloadDigest [32] |
 * PayloadType u32 | PayloadLength u32 | Payload`, big-endian, so MessageType sits at 4..36,
 * SequenceNumber at 48, PayloadType at 112 and the payload from 120. Only `output_stream_data`
 * with PayloadType 1 (Output) counts, and each sequence number once per socket (a retransmission
 * is not new output).
 */
import WebSocket from 'ws';

const OUTPUT_TYPE = Buffer.from('output_stream_data');
const SEQ_OFFSET = 48;
const PAYLOAD_TYPE_OFFSET = 112;
const PAYLOAD_OFFSET = 120;
const PAYLOAD_TYPE_OUTPUT = 1;

export interface MeterReading {
  bytes: number;
  messages: number;
  /** Milliseconds between the first and the last counted message. */
  spanMs: number;
  /** bytes / spanMs in MB/s (10^6 bytes); 0 when fewer than two messages were seen. */
  MBps: number;
}

export class SendMeter {
  #bytes = 0;
  #messages = 0;
  #first = 0;
  #last = 0;
  readonly #highestSeq = new WeakMap<object, number>();

  observe(socket: object, data: unknown): void {
    if (!Buffer.isBuffer(data) || data.length < PAYLOAD_OFFSET) return;
    if (data.compare(OUTPUT_TYPE, 0, OUTPUT_TYPE.length, 4, 4 + OUTPUT_TYPE.length) !== 0) return;
    if (data.readUInt32BE(PAYLOAD_TYPE_OFFSET) !== PAYLOAD_TYPE_OUTPUT) return;
    const seq = Number(data.readBigInt64BE(SEQ_OFFSET));
    const prev = this.#highestSeq.get(socket) ?? -1;
    if (seq <= prev) return;
    this.#highestSeq.set(socket, seq);
    const now = performance.now();
    if (this.#messages === 0) this.#first = now;
    this.#last = now;
    this.#messages++;
    this.#bytes += data.length - PAYLOAD_OFFSET;
  }

  reset(): void {
    this.#bytes = 0;
    this.#messages = 0;
    this.#first = 0;
    this.#last = 0;
  }

  read(): MeterReading {
    const spanMs = this.#last - this.#first;
    const MBps = this.#messages > 1 && spanMs > 0 ? this.#bytes / 1e6 / (spanMs / 1000) : 0;
    return { bytes: this.#bytes, messages: this.#messages, spanMs, MBps };
  }
}

type SendFn = (this: WebSocket, ...args: unknown[]) => void;

/** Install the meter on every WebSocket in this process; returns the meter. */
export function installSendMeter(): SendMeter {
  const meter = new SendMeter();
  const proto = WebSocket.prototype as unknown as { send: SendFn };
  const original = proto.send;
  proto.send = function meteredSend(this: WebSocket, ...args: unknown[]): void {
    meter.observe(this, args[0]);
    original.apply(this, args);
  };
  return meter;
}
