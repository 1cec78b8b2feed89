/**
 * TCP dials of the emulated agent, with Go-style error texts (the agent reports
 * `Unable to connect to specified port: <Go dial error>` in basic mode).
 */
import { connect, type Socket } from 'node:net';
import { isLoopbackName } from '../../loopback.js';
import type { DialTarget } from './destinations.js';

/** Go's `net.Dial` error text for a Node socket error. */
export function goDialErrorText(target: DialTarget, err: NodeJS.ErrnoException): string {
  const addr = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const reason: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    ETIMEDOUT: 'i/o timeout',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ECONNRESET: 'connect: connection reset by peer',
    EADDRNOTAVAIL: 'connect: cannot assign requested address',
  };
  return `dial tcp ${addr}: ${reason[err.code ?? ''] ?? err.message}`;
}

/** A dial that failed; `text` is the Go-style error. */
export class DialFailure extends Error {
  readonly text: string;
  constructor(text: string) {
    super(text);
    this.text = text;
  }
}

function dialOne(target: DialTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (!isLoopbackName(target.host)) {
      // The emulator never leaves this machine: a destination must be loopback or mapped.
      const addr = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
      reject(
        new DialFailure(
          `dial tcp ${addr}: connect: network is unreachable (the emulator dials loopback addresses only; add a destination mapping)`,
        ),
      );
      return;
    }
    const host = target.host === 'localhost' ? '127.0.0.1' : target.host;
    const socket = connect({ host, port: target.port });
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(new DialFailure(goDialErrorText(target, err)));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Dial the targets in order; the first success wins, the error reported is the first failure. */
export async function dialFirst(targets: readonly DialTarget[]): Promise<Socket> {
  let first: DialFailure | undefined;
  for (const t of targets) {
    try {
      return await dialOne(t);
    } catch (e) {
      first ??= e instanceof DialFailure ? e : new DialFailure(String(e));
    }
  }
  throw first ?? new DialFailure('dial tcp: missing address');
}
