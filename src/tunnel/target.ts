/**
 * Target resolution: instance id as given; a Name tag value or a tag set through
 * DescribeInstanceInformation filters (`tag:<Key>` filters are AND-ed by the service).
 * No match or several matches is an error that lists what was found, so the user can fix it.
 */
import type { InstanceInfo, SsmApi } from '../aws/ssm-api.js';
import { ForwardError } from '../errors.js';
import { describeTargetRef, type TargetRef } from './forward-spec.js';

export interface ResolvedTarget {
  instanceId: string;
  /** From DescribeInstanceInformation when a lookup was made. */
  agentVersion?: string;
  pingStatus?: string;
}

function describeCandidate(i: InstanceInfo): string {
  const bits = [i.instanceId];
  if (i.computerName !== undefined && i.computerName !== '') bits.push(i.computerName);
  if (i.pingStatus !== undefined) bits.push(i.pingStatus);
  return bits.join(' ');
}

export async function resolveTarget(api: SsmApi, ref: TargetRef): Promise<ResolvedTarget> {
  if (ref.kind === 'ecs') {
    // Issue #19: ECS references are resolved (ListTasks/DescribeTasks) before a forward starts.
    throw new ForwardError('ERR_TUNNEL_TARGET_NOT_FOUND', `${describeTargetRef(ref)} was not resolved to a task`, {
      details: { target: describeTargetRef(ref) },
    });
  }
  // An ECS Exec target is not a managed node: DescribeInstanceInformation knows nothing of it.
  if (ref.kind === 'id' && ref.id.startsWith('ecs:')) return { instanceId: ref.id };
  if (ref.kind === 'id') {
    // Best effort: learn the agent version (old agents have no smux). Users allowed to start
    // sessions may not be allowed to describe nodes; the id is then used as given.
    const out: ResolvedTarget = { instanceId: ref.id };
    try {
      const found = await api.describeInstances([{ key: 'InstanceIds', values: [ref.id] }]);
      const me = found.find((i) => i.instanceId === ref.id);
      if (me?.agentVersion !== undefined) out.agentVersion = me.agentVersion;
      if (me?.pingStatus !== undefined) out.pingStatus = me.pingStatus;
    } catch {
      // ignored on purpose (see above)
    }
    return out;
  }
  const tags = ref.kind === 'name' ? { Name: ref.name } : ref.tags;
  const filters = Object.entries(tags).map(([key, value]) => ({ key: `tag:${key}`, values: [value] }));
  const found = await api.describeInstances(filters);
  const what = describeTargetRef(ref);
  if (found.length === 0) {
    const region = await api.regionDescription?.().catch(() => undefined);
    throw new ForwardError(
      'ERR_TUNNEL_TARGET_NOT_FOUND',
      `no managed node matches ${what} (DescribeInstanceInformation found none${region === undefined ? '' : ` in region ${region}`})`,
      {
        details: { target: what },
      },
    );
  }
  let chosen = found;
  // An auto-scaling group leaves replaced nodes behind as ConnectionLost/Inactive for a while:
  // when exactly one candidate is Online, that is the one the user means.
  if (found.length > 1) {
    const online = found.filter((i) => i.pingStatus === 'Online');
    if (online.length === 1) chosen = online;
  }
  const only = chosen[0];
  if (chosen.length !== 1 || only === undefined) {
    const list = found.map(describeCandidate).join('; ');
    throw new ForwardError(
      'ERR_TUNNEL_TARGET_AMBIGUOUS',
      `${found.length} managed nodes match ${what}: ${list} (use an instance id)`,
      {
        details: { target: what, matches: found.map((i) => i.instanceId).join(',') },
      },
    );
  }
  const out: ResolvedTarget = { instanceId: only.instanceId };
  if (only.agentVersion !== undefined) out.agentVersion = only.agentVersion;
  if (only.pingStatus !== undefined) out.pingStatus = only.pingStatus;
  return out;
}
