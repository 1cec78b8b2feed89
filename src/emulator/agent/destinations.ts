/**
 * Where the emulated agent connects, and which remote hosts it refuses.
 *
 * The real Port plugin (`agent/session/plugins/port/port.go`, 3.3.1142.0) dials
 * `localhost:<portNumber>` when the document has no `host`, and otherwise resolves `host` once per
 * session (all A/AAAA records), refuses the session when any resolved address is in its deny list
 * (`Forwarding to IP address <host> is forbidden.`), and dials the resolved addresses in resolver
 * order (first success wins). The emulator keeps those rules but connects through a mapping
 * `(instance, host, port) → loopback address`, so emulated instances can have private services
 * behind made-up hosts. With no mapping, an instance's `localhost:P` is this machine's
 * `127.0.0.1:P`, and a remote host that resolves to a loopback address is dialed as is by agents
 * before 3.3.4851.0.
 *
 * Agent 3.3.4851.0 (2026-07) fixed a server-side request forgery that could reach the instance
 * role's credentials: from that version on ToRemoteHost (a non-empty `host`) also refuses loopback
 * (`localhost`, 127.0.0.0/8, ::1) and the container credential endpoints, with the same text.
 * AWS-StartPortForwardingSession (no `host`) still dials the instance's own localhost.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { CONTAINER_CREDENTIAL_ADDRESSES, agentRefusesLoopback } from '../../protocol/ssm/versions.js';
import type { ResolvedEmulatorOptions } from '../options.js';
import { isLoopbackName } from '../../loopback.js';

export type ResolvedDestinationMapping = ResolvedEmulatorOptions['destinations'][number];

/** The text the agent reports when a resolved address is denied. */
export function forbiddenHostText(host: string): string {
  return `Forwarding to IP address ${host} is forbidden.`;
}

/** The text the agent reports when the destination port is empty (message text as the agent's). */
export function emptyPortText(properties: Record<string, string>): string {
  return `Port number is empty in session properties. ${JSON.stringify(properties)}`;
}

/** Canonical text form of an IP address (IPv6 compressed, lower case); other strings unchanged. */
export function canonicalIp(addr: string): string {
  const bare = addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr;
  if (isIP(bare) !== 6) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return bare.toLowerCase();
  }
}

/** `::ffff:a.b.c.d` (either notation) → `a.b.c.d`; other addresses unchanged. */
export function unmapIpv4(ip: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return ip;
}

/** True when `ip` (any notation) is in `denyList`. IPv4-mapped IPv6 addresses count as IPv4. */
export function isDeniedIp(ip: string, denyList: readonly string[]): boolean {
  const c = unmapIpv4(canonicalIp(ip));
  return denyList.some((d) => unmapIpv4(canonicalIp(d)) === c);
}

/** The mapping for `(instanceId, host, port)`: an exact instance match wins over `'*'`. */
export function findMapping(
  mappings: readonly ResolvedDestinationMapping[],
  instanceId: string,
  host: string,
  port: number,
): ResolvedDestinationMapping | undefined {
  const h = host === '' ? 'localhost' : host.toLowerCase();
  let wildcard: ResolvedDestinationMapping | undefined;
  for (const m of mappings) {
    if (m.port !== port || m.host.toLowerCase() !== h) continue;
    if (m.instance === instanceId) return m;
    if (m.instance === '*' && wildcard === undefined) wildcard = m;
  }
  return wildcard;
}

/** True when some mapping names this host for this instance (any port). */
function hasHostMapping(mappings: readonly ResolvedDestinationMapping[], instanceId: string, host: string): boolean {
  const h = host.toLowerCase();
  return mappings.some((m) => m.host.toLowerCase() === h && (m.instance === instanceId || m.instance === '*'));
}

export interface DialTarget {
  host: string;
  port: number;
}

/** What the agent decided at session start: a failure text, or the ordered dial targets. */
export type DestinationPlan = { ok: false; output: string } | { ok: true; targets: DialTarget[]; description: string };

export interface PlanInput {
  instanceId: string;
  /** The document's `host` property ('' or absent for AWS-StartPortForwardingSession). */
  host: string | undefined;
  /** The document's `portNumber` property, as a string. */
  portNumber: string | undefined;
  properties: Record<string, string>;
  mappings: readonly ResolvedDestinationMapping[];
  denyList: readonly string[];
  /** The instance's agent version: ≥ 3.3.4851.0 also refuses loopback and container endpoints. */
  agentVersion?: string;
  /** Injected resolver (tests); default `dns.lookup(host, { all: true })`. */
  resolve?: (host: string) => Promise<string[]>;
}

/** The agent's resolver: every A/AAAA record of `host`, in resolver order. */
export async function defaultResolve(host: string): Promise<string[]> {
  // RFC 6761 §6.4: names under `.invalid` never resolve, and resolvers should answer at once
  // instead of asking the network (a machine without DNS servers can otherwise wait out every
  // resolver timeout before saying so).
  if (/(^|\.)invalid\.?$/i.test(host)) throw new Error(`lookup ${host}: no such host`);
  const all = await lookup(host, { all: true, verbatim: true });
  return all.map((a) => a.address);
}

/**
 * Run the agent's checks once per session (after the handshake, as the agent does) and decide the
 * dial targets. Resolution failures and denied addresses give the agent's failure texts.
 */
export async function planDestination(input: PlanInput): Promise<DestinationPlan> {
  const portText = (input.portNumber ?? '').trim();
  if (portText === '') return { ok: false, output: emptyPortText(input.properties) };
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    // The agent does not validate the number itself; Go's dialer fails with this text.
    return { ok: false, output: `Unable to connect to specified port: dial tcp: address ${portText}: invalid port` };
  }
  const host = (input.host ?? '').trim();
  const mapped = findMapping(input.mappings, input.instanceId, host, port);

  if (host === '') {
    const to = mapped?.to ?? { host: '127.0.0.1', port };
    return { ok: true, targets: [to], description: `localhost:${port}` };
  }

  const strict = agentRefusesLoopback(input.agentVersion);
  if (strict && (isLoopbackName(unmapIpv4(canonicalIp(host))) || isDeniedIp(host, CONTAINER_CREDENTIAL_ADDRESSES)))
    return { ok: false, output: forbiddenHostText(host) };

  let ips: string[];
  if (isIP(canonicalIp(host)) !== 0) ips = [canonicalIp(host)];
  else if (hasHostMapping(input.mappings, input.instanceId, host)) ips = [];
  else {
    try {
      ips = await (input.resolve ?? defaultResolve)(host);
    } catch {
      // Go's resolver text, which the agent reports verbatim.
      return { ok: false, output: `lookup ${host}: no such host` };
    }
    if (ips.length === 0) return { ok: false, output: `lookup ${host}: no such host` };
  }
  if (ips.some((ip) => isDeniedIp(ip, input.denyList))) return { ok: false, output: forbiddenHostText(host) };
  if (
    strict &&
    ips.some((ip) => isLoopbackName(unmapIpv4(canonicalIp(ip))) || isDeniedIp(ip, CONTAINER_CREDENTIAL_ADDRESSES))
  )
    return { ok: false, output: forbiddenHostText(host) };

  if (mapped) return { ok: true, targets: [mapped.to], description: `${host}:${port}` };
  return { ok: true, targets: ips.map((ip) => ({ host: ip, port })), description: `${host}:${port}` };
}
