/**
 * Check 6, permission: may the caller start a session on the target with the forward's document?
 *
 * Proven by a real StartSession, terminated at once (TerminateSession), and said so in the output.
 * Extension point: where the caller may run `iam:SimulatePrincipalPolicy`, a simulation could
 * answer without starting anything; this build always uses the real call.
 */
import { portForwardingRequest } from '../../aws/ssm-api.js';
import { isTunnelError } from '../../errors.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import { adviceFor } from '../report.js';
import { errorText, fail, pass, resultOf, warn, type Check, type DoctorContext } from './types.js';

/** The instance id the target check resolved for `forward`. */
export function resolvedInstance(ctx: DoctorContext, forward: string): string | undefined {
  const id = resultOf(ctx, 'target', forward)?.details?.['instanceId'];
  return typeof id === 'string' ? id : undefined;
}

/** The IAM statements a port-forwarding user needs, for this target and document. */
export function policySnippet(ctx: DoctorContext, instanceId: string, document: string): string {
  const account = resultOf(ctx, 'identity')?.details?.['account'];
  const acct = typeof account === 'string' && account !== '' ? account : 'ACCOUNT';
  const region = ctx.region ?? 'REGION';
  const node = instanceId.startsWith('mi-')
    ? `arn:aws:ssm:${region}:${acct}:managed-instance/${instanceId}`
    : `arn:aws:ec2:${region}:${acct}:instance/${instanceId}`;
  const statements = [
    { Effect: 'Allow', Action: 'ssm:StartSession', Resource: [node, `arn:aws:ssm:${region}::document/${document}`] },
    {
      Effect: 'Allow',
      Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
      Resource: 'arn:aws:ssm:*:*:session/${aws:userid}-*',
    },
  ];
  return `attach to the caller a policy with ${JSON.stringify(statements)}`;
}

export const permissionCheck: Check = {
  id: 'permission',
  scope: 'forward',
  needs: ['target'],
  timeoutMs: 15_000,
  timeoutFix: 'check the network path to the SSM endpoint (see the endpoints check)',
  async run(ctx, forward) {
    const spec = forward as ForwardSpec;
    const instanceId = resolvedInstance(ctx, spec.name);
    if (instanceId === undefined) return warn('the target was not resolved', 'see the target check');
    const req = portForwardingRequest({
      target: instanceId,
      remotePort: spec.remotePort,
      ...(spec.remoteHost === undefined ? {} : { remoteHost: spec.remoteHost }),
      reason: 'tunnel doctor permission check',
    });
    const details: Record<string, unknown> = { method: 'StartSession+TerminateSession', document: req.documentName };
    let sessionId: string;
    try {
      sessionId = (await ctx.api().startSession(req)).sessionId;
    } catch (err) {
      const code = isTunnelError(err) ? err.code : 'ERR_AWS_API';
      details['code'] = code;
      if (code === 'ERR_AWS_ACCESS_DENIED') {
        return fail(
          `StartSession on ${instanceId} with ${req.documentName} is denied: ${errorText(err)}`,
          policySnippet(ctx, instanceId, req.documentName),
          details,
        );
      }
      if (code === 'ERR_AWS_TARGET_NOT_CONNECTED')
        return fail(
          `StartSession: ${errorText(err)}`,
          adviceFor(err) ?? 'check the SSM agent on the instance',
          details,
        );
      return fail(
        `StartSession on ${instanceId} with ${req.documentName} failed: ${errorText(err)}`,
        adviceFor(err, ctx.aws.profile) ?? 'see the identity check',
        details,
      );
    }
    details['sessionId'] = sessionId;
    try {
      await ctx.api().terminateSession(sessionId);
    } catch (err) {
      return warn(
        `StartSession on ${instanceId} with ${req.documentName} is allowed, but TerminateSession of ${sessionId} failed: ${errorText(err)}`,
        policySnippet(ctx, instanceId, req.documentName),
        details,
      );
    }
    return pass(
      `StartSession on ${instanceId} with ${req.documentName} is allowed (checked by a real session, ${sessionId}, terminated at once)`,
      details,
    );
  },
};
