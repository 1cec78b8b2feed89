/**
 * Incremental decoder for ClientMessages carried on a plain byte stream (no WebSocket framing),
 * e.g. a recorded capture or a test pipe. On a WebSocket each frame is one message and
 * `decodeClientMessage` is used directly; this decoder adds the framing: a message is
 * `HeaderLength + 4 + PayloadLength` bytes, so here PayloadLength *does* delimit the payload.
 *
 * The first error is latched: every later `push` throws it again (a corrupted byte stream has
 * no reliable resynchronisation point).
 */
import { ProtocolError } from '../../errors.js';
import {
  type ClientMessage,
  type DecodeOptions,
  HEADER_LENGTH,
  PAYLOAD_LENGTH_OFFSET,
  PAYLOAD_OFFSET,
  decodeClientMessage,
} from './client-message.js';

/** Default upper bound on one payload (1 MiB): far above the 1024-byte data messages. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;

export class ClientMessageStreamDecoder {
  readonly #options: DecodeOptions;
  readonly #maxPayloadBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #error: ProtocolError | undefined;

  constructor(options: DecodeOptions & { maxPayloadBytes?: number } = {}) {
    this.#options = { verifyDigest: options.verifyDigest ?? true, strictPayloadLength: true };
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  /** Bytes held that do not yet form a whole message. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Feeds one chunk and yields every message it completes. Input chunks are never written
   * into; a message that lies inside one chunk is decoded from a view of it.
   */
  *push(chunk: Buffer): Generator<ClientMessage> {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    try {
      for (;;) {
        if (this.#buffered < PAYLOAD_OFFSET) return;
        const head = this.#peek(PAYLOAD_OFFSET);
        const headerLength = head.readUInt32BE(0);
        if (headerLength !== HEADER_LENGTH) {
          throw new ProtocolError(
            'ERR_SSM_BAD_HEADER_LENGTH',
            `HeaderLength is ${headerLength}, expected ${HEADER_LENGTH}`,
            {
              details: { headerLength },
            },
          );
        }
        const payloadLength = head.readUInt32BE(PAYLOAD_LENGTH_OFFSET);
        if (payloadLength > this.#maxPayloadBytes) {
          throw new ProtocolError(
            'ERR_SSM_LENGTH_MISMATCH',
            `PayloadLength ${payloadLength} exceeds the ${this.#maxPayloadBytes}-byte limit`,
            {
              details: { payloadLength },
            },
          );
        }
        const total = PAYLOAD_OFFSET + payloadLength;
        if (this.#buffered < total) return;
        yield decodeClientMessage(this.#take(total), this.#options);
      }
    } catch (e) {
      if (e instanceof ProtocolError) this.#error = e;
      throw e;
    }
  }

  /** The first `n` buffered bytes (a view when they lie in the first chunk). */
  #peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const c of this.#chunks) {
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` buffered bytes. */
  #take(n: number): Buffer {
    const out = this.#peek(n);
    let left = n;
    while (left > 0) {
      const c = this.#chunks[0];
      if (c === undefined) break;
      if (c.length <= left) {
        this.#chunks.shift();
        left -= c.length;
      } else {
        this.#chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.#buffered -= n;
    return out;
  }
}
