/**
 * Check 4, endpoints: the SSM API and the data-channel (ssmmessages) host each resolve, accept
 * TCP and complete TLS (through the proxy when one applies). Private addresses mean a VPC
 * interface endpoint with private DNS; a name that does not resolve in a private network usually
 * means a missing endpoint or private DNS turned off.
 */
import { isLoopbackName } from '../../loopback.js';
import { netSettings, proxyFor } from './net-settings.js';
import { isLoopbackAddress, isPrivateAddress, probeEndpoint } from './net-probe.js';
import { ssmEndpoint } from './clock.js';
import { errorText, fail, type Check, type Finding } from './types.js';

interface Target {
  role: 'SSM API' | 'data channel';
  service: 'ssm' | 'ssmmessages';
  host: string;
  port: number;
  tls: boolean;
}

export const endpointsCheck: Check = {
  id: 'endpoints',
  scope: 'global',
  needs: [],
  timeoutMs: 15_000,
  timeoutFix:
    'allow outbound TCP 443 to the endpoints (firewall, security group of a VPC endpoint, proxy), or set --endpoint',
  async run(ctx) {
    let url: URL | undefined;
    try {
      url = ssmEndpoint(ctx);
    } catch (err) {
      return fail(
        `cannot use the SSM endpoint: ${errorText(err)}`,
        'fix --endpoint / AWS_ENDPOINT_URL_SSM (https://…)',
      );
    }
    if (url === undefined)
      return fail('no region: the SSM endpoint is unknown', 'set --region, AWS_REGION or `region` in the profile');
    const https = url.protocol === 'https:';
    const targets: Target[] = [
      { role: 'SSM API', service: 'ssm', host: url.hostname, port: Number(url.port || (https ? 443 : 80)), tls: https },
    ];
    // The emulator (any loopback endpoint) serves the data channel on its own port; everywhere
    // else StreamUrls point at ssmmessages.REGION.amazonaws.com:443, VPC endpoint or not.
    if (isLoopbackName(url.hostname)) {
      targets.push({ ...targets[0]!, role: 'data channel', service: 'ssmmessages' });
    } else if (ctx.region !== undefined) {
      targets.push({
        role: 'data channel',
        service: 'ssmmessages',
        host: `ssmmessages.${ctx.region}.amazonaws.com`,
        port: 443,
        tls: true,
      });
    }
    const net = netSettings(ctx.io.env);
    const region = ctx.region ?? 'REGION';
    const parts: string[] = [];
    const fixes: string[] = [];
    const details: Record<string, unknown> = {};
    let status: Finding['status'] = 'pass';
    for (const t of targets) {
      const proxy = proxyFor(net, t.host);
      const r = await probeEndpoint(t.host, t.port, t.tls, proxy, ctx.signal);
      const name = `${t.role} ${t.host}:${t.port}`;
      details[t.service] = { host: t.host, port: t.port, tls: t.tls, via: proxy?.host ?? null, ...r };
      const vpceFix = `create the interface VPC endpoint com.amazonaws.${region}.${t.service} with private DNS enabled (or fix DNS)`;
      if (!r.resolve.ok) {
        status = 'fail';
        parts.push(`${name} does not resolve: ${r.resolve.error ?? ''}`);
        fixes.push(`check DNS for ${t.host}; in a VPC without internet access, ${vpceFix}`);
        continue;
      }
      if (r.connect !== undefined && !r.connect.ok) {
        status = 'fail';
        parts.push(
          `${name}${proxy === undefined ? '' : ` via proxy ${proxy.host}`}: ${r.connect.error ?? 'no connection'}`,
        );
        fixes.push(
          isLoopbackName(t.host)
            ? `start the endpoint at ${t.host}:${t.port} (e.g. \`tunnel emulator\`) or fix --endpoint / AWS_ENDPOINT_URL_SSM`
            : `allow outbound TCP ${t.port} to ${t.host}${proxy === undefined ? '' : ` through the proxy`} (firewall, the VPC endpoint's security group)`,
        );
        continue;
      }
      if (r.tls !== undefined && !r.tls.ok) {
        status = 'fail';
        parts.push(`${name}: TLS failed: ${r.tls.error ?? ''}`);
        fixes.push('a TLS-inspecting proxy or firewall? trust its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem');
        continue;
      }
      const kind =
        r.addresses.every(isLoopbackAddress) && r.addresses.length > 0
          ? 'loopback'
          : r.addresses.length > 0 && r.addresses.every(isPrivateAddress)
            ? 'private (VPC endpoint)'
            : r.addresses.length === 0
              ? `via proxy ${proxy?.host ?? ''}`
              : 'public';
      parts.push(`${name} ok (${kind}${t.tls ? ', TLS' : ''})`);
    }
    // An SSM VPC endpoint without the ssmmessages one: the API works, every session hangs.
    const ssm = details['ssm'] as { addresses: string[] } | undefined;
    const msgs = details['ssmmessages'] as { addresses: string[] } | undefined;
    if (
      status === 'pass' &&
      ssm !== undefined &&
      msgs !== undefined &&
      ssm.addresses.length > 0 &&
      ssm.addresses.every(isPrivateAddress) &&
      msgs.addresses.length > 0 &&
      !msgs.addresses.every(isPrivateAddress)
    ) {
      return {
        status: 'warn',
        finding: `${parts.join('; ')}; ssm resolves to a VPC endpoint but ssmmessages does not`,
        fix: `create the interface VPC endpoint com.amazonaws.${region}.ssmmessages with private DNS enabled`,
        details,
      };
    }
    return {
      status,
      finding: parts.join('; '),
      ...(fixes.length > 0 ? { fix: fixes.join('; ') } : {}),
      details,
    };
  },
};
