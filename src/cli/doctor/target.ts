/**
 * Check 5, target: the forward's target resolves to one managed node, it is Online, and its agent
 * version can do what the forward asks (version facts below, from the agent's and plugin's
 * release notes and version gates).
 */
import type { InstanceInfo } from '../../aws/ssm-api.js';
import {
  AGENT_DEFAULT_DENIED_REMOTE_IPS,
  AGENT_KEEPALIVE_OFF_MIN_EXCLUSIVE,
  AGENT_MUX_MIN_EXCLUSIVE,
  AGENT_PORT_FORWARDING_MIN,
  AGENT_REFUSES_LOOPBACK_MIN,
  AGENT_REMOTE_HOST_MIN,
  CONTAINER_CREDENTIAL_ADDRESSES,
  agentRefusesLoopback,
  compareVersionsAgentStyle,
  isVersionGreater,
} from '../../protocol/ssm/versions.js';
import { isTunnelError } from '../../errors.js';
import { describeTargetRef, type ForwardSpec } from '../../tunnel/forward-spec.js';
import { resolveTarget } from '../../tunnel/target.js';
import { errorText, fail, pass, warn, type Check, type DoctorContext, type Finding } from './types.js';
import { isLoopbackName } from '../../loopback.js';

export function atLeast(version: string, min: string): boolean {
  return compareVersionsAgentStyle(version, min) >= 0;
}

/** What the agent version implies for this forward: the refusals first, then facts. */
export function agentImplications(
  version: string,
  remoteHost: string | undefined,
): { refusal?: string; fix?: string; caveat?: string; facts: string[] } {
  const facts: string[] = [];
  const mux = isVersionGreater(version, AGENT_MUX_MIN_EXCLUSIVE);
  facts.push(mux ? 'smux (many connections per session)' : 'basic mode (one connection per session)');
  if (mux)
    facts.push(isVersionGreater(version, AGENT_KEEPALIVE_OFF_MIN_EXCLUSIVE) ? 'keep-alive off' : 'keep-alive on');
  const update =
    'update the agent: `aws ssm send-command --document-name AWS-UpdateSSMAgent --targets Key=InstanceIds,Values=INSTANCE`';
  if (!atLeast(version, AGENT_PORT_FORWARDING_MIN))
    return { refusal: `agent ${version} predates port forwarding (${AGENT_PORT_FORWARDING_MIN})`, fix: update, facts };
  if (remoteHost !== undefined) {
    if (!atLeast(version, AGENT_REMOTE_HOST_MIN))
      return {
        refusal: `agent ${version} predates forwarding to remote hosts (${AGENT_REMOTE_HOST_MIN})`,
        fix: update,
        facts,
      };
    const bare = remoteHost.replace(/^\[|\]$/g, '').toLowerCase();
    if (AGENT_DEFAULT_DENIED_REMOTE_IPS.includes(bare))
      return {
        refusal: `the agent refuses ${remoteHost} (instance metadata/link-local addresses are on its deny list)`,
        fix: 'forward to the service itself, not the metadata address',
        facts,
      };
    const modern = agentRefusesLoopback(version);
    if (modern && (isLoopbackName(bare) || CONTAINER_CREDENTIAL_ADDRESSES.includes(bare)))
      return {
        refusal: `agent ${version} (>= ${AGENT_REFUSES_LOOPBACK_MIN}) refuses ${remoteHost} as a remote host`,
        fix: `for a service on the instance itself use AWS-StartPortForwardingSession: drop the host (TARGET:${'PORT'}) or set \`host:\` empty`,
        facts,
      };
    facts.push(
      modern ? 'refuses loopback, metadata and container-credential hosts' : 'refuses instance-metadata hosts',
    );
    if (!modern && (isLoopbackName(bare) || CONTAINER_CREDENTIAL_ADDRESSES.includes(bare)))
      return {
        caveat: `agents from ${AGENT_REFUSES_LOOPBACK_MIN} on refuse ${remoteHost} as a remote host`,
        fix: 'use AWS-StartPortForwardingSession (no host) for services on the instance itself',
        facts,
      };
  }
  return { facts };
}

async function describe(ctx: DoctorContext, id: string): Promise<InstanceInfo | undefined> {
  const found = await ctx.api().describeInstances([{ key: 'InstanceIds', values: [id] }]);
  return found.find((i) => i.instanceId === id);
}

export const targetCheck: Check = {
  id: 'target',
  scope: 'forward',
  needs: [],
  timeoutMs: 15_000,
  timeoutFix: 'check the network path to the SSM endpoint (see the endpoints check)',
  async run(ctx, forward) {
    const spec = forward as ForwardSpec;
    const what = describeTargetRef(spec.target);
    const listFix = `run \`tunnel targets\` to list managed nodes (check --region${ctx.region === undefined ? '' : ` (now ${ctx.region})`} and --profile)`;
    let instanceId: string;
    try {
      instanceId = (await resolveTarget(ctx.api(), spec.target)).instanceId;
    } catch (err) {
      const code = isTunnelError(err) ? err.code : 'ERR_AWS_API';
      if (code === 'ERR_TUNNEL_TARGET_AMBIGUOUS')
        return fail(errorText(err), 'name the instance by id (i-…) in the forward');
      if (code === 'ERR_TUNNEL_TARGET_NOT_FOUND') return fail(errorText(err), listFix, { target: what });
      if (code === 'ERR_AWS_ACCESS_DENIED')
        return fail(
          `cannot look ${what} up: ${errorText(err)}`,
          'allow ssm:DescribeInstanceInformation (and ssm:ListTagsForResource), or name the target by instance id',
        );
      return fail(
        `cannot look ${what} up: ${errorText(err)}`,
        ctx.region === undefined ? 'set --region or AWS_REGION' : 'see the identity and endpoints checks',
      );
    }
    let info: InstanceInfo | undefined;
    try {
      info = await describe(ctx, instanceId);
    } catch (err) {
      if (isTunnelError(err) && err.code === 'ERR_AWS_ACCESS_DENIED')
        return warn(
          `${instanceId}: not allowed to describe it (${errorText(err)}); ping status and agent version unknown`,
          'allow ssm:DescribeInstanceInformation so tunnel can check the node and pick the right mode',
          { instanceId },
        );
      return fail(`cannot describe ${instanceId}: ${errorText(err)}`, 'see the identity and endpoints checks');
    }
    if (info === undefined)
      return fail(
        `${instanceId} is not a managed node here (DescribeInstanceInformation does not list it)`,
        `${listFix}; the instance needs a running SSM agent and an instance profile with AmazonSSMManagedInstanceCore`,
        { instanceId },
      );
    const details: Record<string, unknown> = {
      instanceId,
      pingStatus: info.pingStatus ?? null,
      agentVersion: info.agentVersion ?? null,
      platform: info.platformName ?? null,
      resourceType: info.resourceType ?? null,
    };
    const label = `${instanceId}${spec.target.kind === 'id' ? '' : ` (${what})`}`;
    if (info.pingStatus !== 'Online')
      return fail(
        `${label} is ${info.pingStatus ?? 'not reporting'} in Session Manager`,
        'start the instance; check that amazon-ssm-agent runs (`sudo systemctl status amazon-ssm-agent`), its instance profile (AmazonSSMManagedInstanceCore) and its outbound path to ssm, ssmmessages and ec2messages',
        details,
      );
    const version = info.agentVersion ?? '';
    const implied = version === '' ? { facts: ['agent version unknown'] } : agentImplications(version, spec.remoteHost);
    details['implies'] = implied.facts;
    const head = `${label} Online, agent ${version || '?'} (${implied.facts.join(', ')}), ${info.platformName ?? 'platform ?'}`;
    if ('refusal' in implied && implied.refusal !== undefined)
      return fail(`${head}: ${implied.refusal}`, (implied.fix ?? '').replace('INSTANCE', instanceId), details);
    if ('caveat' in implied && implied.caveat !== undefined)
      return warn(`${head}; ${implied.caveat}`, implied.fix ?? '', details);
    if (version !== '' && !isVersionGreater(version, AGENT_MUX_MIN_EXCLUSIVE))
      return warn(
        head,
        `update the agent for smux (one session for many connections): \`aws ssm send-command --document-name AWS-UpdateSSMAgent --targets Key=InstanceIds,Values=${instanceId}\``,
        details,
      );
    return pass(head, details) satisfies Finding;
  },
};
