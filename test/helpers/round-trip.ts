/** A TCP client for echo tests: one connection, one payload out, the same number of bytes back. */
import { once } from 'node:events';
import { connect } from 'node:net';

/**
 * Connect, send `payload`, read until `expect` bytes (default: as many as were sent) came back,
 * then close. (The agent does not propagate half-close: a FIN from us makes it close the
 * destination connection outright, as the real agent does, so an echo test must not FIN before
 * it has read everything.) Returns what came back, which is shorter than `expect` when the other
 * end closed first.
 */
export async function roundTrip(
  port: number,
  payload: Buffer,
  host = '127.0.0.1',
  expect = payload.length,
): Promise<Buffer> {
  const c = connect({ port, host });
  const chunks: Buffer[] = [];
  let n = 0;
  const closed = once(c, 'close');
  c.on('error', () => {});
  c.on('data', (b: Buffer) => {
    chunks.push(b);
    n += b.length;
    if (n >= expect) c.end();
  });
  await once(c, 'connect');
  c.write(payload);
  await closed;
  return Buffer.concat(chunks);
}
