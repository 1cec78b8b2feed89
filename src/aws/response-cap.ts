/**
 * A cap on the size of every AWS API response body the SDK reads. The SDK buffers whole response
 * bodies before parsing them, so an endless or huge body (a broken proxy, a hostile endpoint)
 * would otherwise grow the process without bound. `capResponseSize(handler, max)` wraps any
 * smithy `HttpHandler` (the default Node one, or one configured with proxy/CA/timeouts) and
 * fails the request with `ResponseTooLargeError` once more than `max` bytes arrive (or at once
 * when Content-Length already says so); the socket is destroyed, nothing more is read.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { HttpHandler, HttpHandlerOptions, HttpRequest, HttpResponse } from '@smithy/protocol-http';

/** Largest API response body read (docs/security.md). Real SSM answers are a few KiB; a page of
 * 50 DescribeInstanceInformation entries is about 50 KiB. */
export const MAX_API_RESPONSE_BYTES = 2 * 1024 * 1024;

/** The body of an API response passed the cap. */
export class ResponseTooLargeError extends Error {
  constructor(
    readonly limit: number,
    /** Bytes seen (or announced by Content-Length) when the cap was hit. */
    readonly size: number,
  ) {
    super(`the response is larger than ${limit} bytes (the limit for an API response)`);
  }

  override get name(): string {
    return 'ResponseTooLargeError';
  }
}

function isReadable(x: unknown): x is Readable {
  return typeof x === 'object' && x !== null && typeof (x as { pipe?: unknown }).pipe === 'function';
}

/** A pass-through that errors (and stops the source) past `limit` bytes. */
function countingStream(source: Readable, limit: number): Transform {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
      seen += chunk.length;
      if (seen > limit) {
        source.unpipe(counter);
        source.destroy();
        done(new ResponseTooLargeError(limit, seen));
        return;
      }
      done(null, chunk);
    },
  });
  source.once('error', (e) => counter.destroy(e));
  return source.pipe(counter);
}

/** `inner`, with every response body limited to `maxBytes`. */
export function capResponseSize<C extends object>(
  inner: HttpHandler<C>,
  maxBytes: number = MAX_API_RESPONSE_BYTES,
): HttpHandler<C> {
  return {
    ...(inner.metadata === undefined ? {} : { metadata: inner.metadata }),
    destroy: () => inner.destroy?.(),
    updateHttpClientConfig: (key, value) => inner.updateHttpClientConfig(key, value),
    httpHandlerConfigs: () => inner.httpHandlerConfigs(),
    async handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }> {
      const out = await inner.handle(request, options);
      const response = out.response;
      const announced = Number(
        Object.entries(response.headers).find(([k]) => k.toLowerCase() === 'content-length')?.[1] ?? NaN,
      );
      const body: unknown = response.body;
      if (Number.isFinite(announced) && announced > maxBytes) {
        if (isReadable(body)) body.destroy();
        throw new ResponseTooLargeError(maxBytes, announced);
      }
      if (isReadable(body)) response.body = countingStream(body, maxBytes);
      return { ...out, response };
    },
  };
}
