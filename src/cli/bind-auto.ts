/**
 * `bind: auto` (issue #19): each such forward listens on a loopback address of its own, so it
 * keeps the database's real port and `tunnel hosts` can map the database's real name to it.
 *
 * The address is 127.0.0.N with N derived from the forward's name (FNV-1a, 2..254), so it stays
 * the same from run to run and a hosts-file block written once keeps working; forwards of one run
 * whose names collide take the next free N. Linux routes all of 127.0.0.0/8 to loopback; macOS
 * has only 127.0.0.1 until an alias is added (`sudo ifconfig lo0 alias 127.0.0.N up`), which the
 * error says.
 */
import { createServer } from 'node:net';
import { ForwardError } from '../errors.js';

const FIRST = 2;
const COUNT = 253;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(text, 'utf8')) {
    h ^= ch;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The preferred address of a forward (no I/O). */
export function preferredLoopback(name: string, taken: ReadonlySet<string> = new Set()): string {
  const start = fnv1a(name) % COUNT;
  for (let i = 0; i < COUNT; i++) {
    const addr = `127.0.0.${FIRST + ((start + i) % COUNT)}`;
    if (!taken.has(addr)) return addr;
  }
  return '127.0.0.1';
}

/** Addresses of several forwards, in order, without two on one address (no I/O). */
export function plannedLoopbacks(names: readonly string[]): Map<string, string> {
  const taken = new Set<string>();
  const out = new Map<string, string>();
  for (const n of names) {
    const a = preferredLoopback(n, taken);
    taken.add(a);
    out.set(n, a);
  }
  return out;
}

/** Try to listen on addr:port; resolves to the error code, or undefined when it could. */
function probe(addr: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'EIO'));
    server.listen({ host: addr, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

export interface AutoBindResult {
  address: string;
  /** Set when the preferred address was busy and another was taken (hosts lines must follow). */
  movedFrom?: string;
}

/**
 * A free loopback address for `name` where `port` (0 = any) can be bound. Throws
 * ERR_TUNNEL_BIND_FAILED with the alias command when the machine has no such address (macOS).
 */
export async function pickLoopback(
  name: string,
  port: number,
  taken: Set<string>,
  planned?: string,
  platform: NodeJS.Platform = process.platform,
): Promise<AutoBindResult> {
  const preferred = planned !== undefined && !taken.has(planned) ? planned : preferredLoopback(name, taken);
  let addr = preferred;
  // Bounded: at most 16 addresses are tried before giving up.
  for (let i = 0; i < 16; i++) {
    const code = await probe(addr, port);
    if (code === undefined) {
      taken.add(addr);
      return addr === preferred ? { address: addr } : { address: addr, movedFrom: preferred };
    }
    if (code === 'EADDRNOTAVAIL') {
      const how =
        platform === 'darwin'
          ? `macOS has only 127.0.0.1 by default; add the alias with: sudo ifconfig lo0 alias ${addr} up`
          : `add it with: sudo ip addr add ${addr}/8 dev lo`;
      throw new ForwardError(
        'ERR_TUNNEL_BIND_FAILED',
        `bind: auto for ${name} wants ${addr}, which is not an address of this machine; ${how} (or set bind: 127.0.0.1 and a localPort)`,
        { details: { forward: name, address: addr } },
      );
    }
    taken.add(addr);
    addr = preferredLoopback(name, taken);
  }
  throw new ForwardError(
    'ERR_TUNNEL_PORT_IN_USE',
    `bind: auto for ${name}: port ${port} is busy on 16 loopback addresses`,
    { details: { forward: name, port } },
  );
}
