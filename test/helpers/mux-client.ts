/** An smux client (our MuxSession, role 'client') over a RawClient's Output stream, for tests. */
import { Duplex } from 'node:stream';
import { MuxSession } from '../../src/mux/mux-session.js';
import type { RawClient } from './raw-client.js';

export function muxOverRawClient(client: RawClient): MuxSession {
  const carrier = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      // INTEROP: the client cuts its smux byte stream into ≤ 1024-byte Output messages.
      for (let off = 0; off < chunk.length; off += 1024)
        client.sendOutput(chunk.subarray(off, Math.min(chunk.length, off + 1024)));
      cb();
    },
    read() {},
  });
  for (const b of client.output) carrier.push(b);
  client.on('output', (b: Buffer) => carrier.push(b));
  return new MuxSession(carrier, { role: 'client', config: { keepAliveDisabled: true } });
}
