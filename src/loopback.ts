/**
 * What counts as loopback: the one module that decides it, for every layer.
 *
 * Two questions, answered differently on purpose:
 *
 * - `isLoopbackIp(host)`: is this an IP literal that can only mean this machine — 127.0.0.0/8,
 *   `::1` in any spelling, or an IPv4-mapped `::ffff:127.x.y.z`; brackets allowed. Used where the
 *   host comes from the network (the StreamUrl the service hands us): a *name* there could resolve
 *   anywhere, so plain `ws://` is allowed only to these literals.
 * - `isLoopbackName(host)`: the same, or the name `localhost`. Used where the user wrote the host
 *   (an SSM endpoint override, a `bind` address, the emulator's own configuration, the emulated
 *   agent's idea of "its own machine"): the user chose it, and on every supported platform
 *   `localhost` resolves to loopback.
 *
 * Pure string checks: no DNS, no I/O.
 */
import { isIP } from 'node:net';

/** `::1` written out in full or partly compressed (0:0:0:0:0:0:0:1, ::0:1, …). */
const IPV6_LOOPBACK_RE = /^(0{0,4}:){1,7}0{0,3}1$|^::(0{0,4}:){0,6}0{0,3}1$/;

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** True for an IP literal in 127.0.0.0/8 or ::1 (any spelling, IPv4-mapped too). */
export function isLoopbackIp(host: string): boolean {
  const h = unbracket(host).toLowerCase();
  const kind = isIP(h);
  if (kind === 4) return h.startsWith('127.');
  if (kind !== 6) return false;
  if (h === '::1' || IPV6_LOOPBACK_RE.test(h)) return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && isIP(mapped[1] as string) === 4 && (mapped[1] as string).startsWith('127.');
}

/** `isLoopbackIp`, or the name `localhost` (any case, with or without a trailing dot). */
export function isLoopbackName(host: string): boolean {
  const h = unbracket(host).toLowerCase();
  return h === 'localhost' || h === 'localhost.' || isLoopbackIp(h);
}
