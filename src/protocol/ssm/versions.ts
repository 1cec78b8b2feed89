/**
 * Version gates. Each side picks the port mode from the *other* side's version, and the two
 * choices must agree (docs/protocol.md §W8).
 *
 * Naming: `<peer>Supports<Feature>(peerVersion)`: the argument is always the version the
 * named peer reported.
 *
 * | decision                    | client (uses AgentVersion) | agent (uses ClientVersion) |
 * | --------------------------- | -------------------------- | -------------------------- |
 * | mux (smux) instead of basic | > 3.0.196.0                | ≥ 1.1.70                   |
 * | smux keep-alive off         | > 3.1.1511.0               | > 1.2.331.0                |
 * | TerminateSession flag       | > 2.3.722.0                | —                          |
 */

/** The ClientVersion we report: a real plugin release, so current agents use smux with keep-alive off. */
export const DEFAULT_CLIENT_VERSION = '1.2.677.0';

/** First agent with the Port plugin (AWS-StartPortForwardingSession). */
export const AGENT_PORT_FORWARDING_MIN = '2.3.672.0';
/** First agent with AWS-StartPortForwardingSessionToRemoteHost. */
export const AGENT_REMOTE_HOST_MIN = '3.1.1374.0';
/**
 * Agent 3.3.4851.0 (2026-07, a server-side request forgery fix): from this version on,
 * ToRemoteHost also refuses loopback and the container credential endpoints.
 */
export const AGENT_REFUSES_LOOPBACK_MIN = '3.3.4851.0';

/**
 * The agent's default `Mgs.DeniedPortForwardingRemoteIPs`, refused as remote hosts by every agent:
 * instance metadata, DNS, time sync and related link-local endpoints, IPv4 and IPv6.
 */
export const AGENT_DEFAULT_DENIED_REMOTE_IPS: readonly string[] = [
  '169.254.169.254',
  'fd00:ec2::254',
  '169.254.169.253',
  'fd00:ec2::253',
  '169.254.169.123',
  'fd00:ec2::123',
  '169.254.169.250',
  '169.254.169.251',
  'fd00:ec2::240',
];

/** Container credential endpoints (ECS task role, EKS Pod Identity), refused from AGENT_REFUSES_LOOPBACK_MIN on. */
export const CONTAINER_CREDENTIAL_ADDRESSES: readonly string[] = ['169.254.170.2', '169.254.170.23', 'fd00:ec2::23'];

export const AGENT_MUX_MIN_EXCLUSIVE = '3.0.196.0';
export const AGENT_KEEPALIVE_OFF_MIN_EXCLUSIVE = '3.1.1511.0';
export const AGENT_TERMINATE_FLAG_MIN_EXCLUSIVE = '2.3.722.0';
export const CLIENT_MUX_MIN_INCLUSIVE = '1.1.70';
export const CLIENT_KEEPALIVE_OFF_MIN_EXCLUSIVE = '1.2.331.0';

/**
 * The client's comparison (plugin `src/version/versionutil.go`): split on '.', compare the
 * parts as integers. Different part counts or any non-numeric part → false. Strict: equal → false.
 */
export function isVersionGreater(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length !== pb.length) return false;
  if (!pa.every(isNumeric) || !pb.every(isNumeric)) return false;
  for (let i = 0; i < pa.length; i++) {
    const x = Number(pa[i]);
    const y = Number(pb[i]);
    if (x !== y) return x > y;
  }
  return false;
}

function isNumeric(s: string | undefined): boolean {
  return s !== undefined && /^[0-9]+$/.test(s) && Number.isSafeInteger(Number(s));
}

const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$/;

/**
 * The agent's comparison (agent `versionutil.Compare`): semver ordering when both are valid
 * semver; otherwise dot parts compared numerically when both are numeric, else as text; when
 * one is a prefix of the other, the shorter is smaller. Returns -1, 0 or 1.
 */
export function compareVersionsAgentStyle(a: string, b: string): -1 | 0 | 1 {
  const sa = SEMVER_RE.exec(a);
  const sb = SEMVER_RE.exec(b);
  if (sa !== null && sb !== null) {
    for (let i = 1; i <= 3; i++) {
      const c = cmpNum(Number(sa[i]), Number(sb[i]));
      if (c !== 0) return c;
    }
    const ra = sa[4];
    const rb = sb[4];
    if (ra === undefined && rb === undefined) return 0;
    if (ra === undefined) return 1; // a release is above its pre-releases
    if (rb === undefined) return -1;
    return ra < rb ? -1 : ra > rb ? 1 : 0;
  }
  const pa = a.split('.');
  const pb = b.split('.');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    const c = isNumeric(x) && isNumeric(y) ? cmpNum(Number(x), Number(y)) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return cmpNum(pa.length, pb.length);
}

function cmpNum(x: number, y: number): -1 | 0 | 1 {
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---- client-side gates (argument: the AgentVersion from the HandshakeRequest) ----------------

/** The client uses smux iff AgentVersion > 3.0.196.0. */
export function agentSupportsMux(agentVersion: string): boolean {
  return isVersionGreater(agentVersion, AGENT_MUX_MIN_EXCLUSIVE);
}

/** The client turns smux keep-alive off iff AgentVersion > 3.1.1511.0. */
export function agentSupportsKeepAliveDisabled(agentVersion: string): boolean {
  return isVersionGreater(agentVersion, AGENT_KEEPALIVE_OFF_MIN_EXCLUSIVE);
}

/** The client may send Flag TerminateSession iff AgentVersion > 2.3.722.0. */
export function agentSupportsTerminateFlag(agentVersion: string): boolean {
  return isVersionGreater(agentVersion, AGENT_TERMINATE_FLAG_MIN_EXCLUSIVE);
}

// ---- agent-side gates (argument: the ClientVersion from the HandshakeResponse) ---------------

/** The agent uses smux iff ClientVersion ≥ 1.1.70. */
export function clientSupportsMux(clientVersion: string): boolean {
  return compareVersionsAgentStyle(clientVersion, CLIENT_MUX_MIN_INCLUSIVE) >= 0;
}

/** The agent turns smux keep-alive off iff ClientVersion > 1.2.331.0. */
export function clientSupportsKeepAliveDisabled(clientVersion: string): boolean {
  return compareVersionsAgentStyle(clientVersion, CLIENT_KEEPALIVE_OFF_MIN_EXCLUSIVE) > 0;
}

/** Does an agent of this version refuse loopback and container-credential ToRemoteHost destinations? */
export function agentRefusesLoopback(agentVersion: string | undefined): boolean {
  return agentVersion !== undefined && compareVersionsAgentStyle(agentVersion, AGENT_REFUSES_LOOPBACK_MIN) >= 0;
}
