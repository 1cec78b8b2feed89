/**
 * Check 7, destination: a real session to the target and one stream to the forward's remote
 * host and port, as a forward would open it. Outcomes, each with its own fix:
 *
 * - connected: the destination sent data first, or no ConnectToPortError came within the window
 *   (the protocol has no positive "connected" signal: the agent only reports failures);
 * - refused: ConnectToPortError (mux) or "Unable to connect to specified port" (basic);
 * - unresolvable: the agent's resolver failed ("lookup HOST: no such host", channel_closed);
 * - forbidden: the agent refused the address ("Forwarding to IP address X is forbidden.").
 */
import { ERROR_CODES, TunnelError, isTunnelError } from '../../errors.js';
import { createDefaultSessionFactory } from '../../tunnel/default-factory.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';
import { kmsHandlerFactory } from '../../tunnel/kms-handler.js';
import { TunnelSession, type SessionEnd } from '../../tunnel/tunnel-session.js';
import { adviceFor } from '../report.js';
import { resolvedInstance } from './permission.js';
import { errorText, fail, pass, type Check, type Finding } from './types.js';

/**
 * How long a stream must stay free of ConnectToPortError to count as connected: 3 s, or a third
 * of `--timeout` when one is given (a slow network path gets a longer window).
 */
export const DESTINATION_QUIET_MS = 3_000;

function classify(dest: string, code: string | undefined, text: string, details: Record<string, unknown>): Finding {
  details['outcome'] = 'failed';
  // The agent's own words, without the engine's "where it happened" prefix (the finding says it).
  const message = text.replace(/^(refused on the instance|the instance could not resolve the host): /, '');
  if (code === 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN') {
    details['outcome'] = 'forbidden';
    return fail(
      `the agent refuses ${dest}: ${message}`,
      "the agent forbids instance-metadata and link-local addresses (and, from agent 3.3.4851.0, loopback and container-credential endpoints) as remote hosts: forward to the service's own address, or drop the host for a service on the instance itself",
      details,
    );
  }
  if (/no such host/.test(message)) {
    details['outcome'] = 'unresolvable';
    return fail(
      `the instance cannot resolve ${dest.replace(/:\d+$/, '')}: ${message}`,
      "use a name the instance's VPC resolver knows (e.g. the RDS endpoint) or an IP address; check the VPC's DNS support and the private hosted zone association",
      details,
    );
  }
  if (/Unable to connect to specified port|connection refused/i.test(message)) {
    details['outcome'] = 'refused';
    return fail(
      `the agent could not connect to ${dest}: ${message}`,
      `start the service on ${dest} (listening on an address the instance can reach), and allow the port from the instance in the destination's security group`,
      details,
    );
  }
  return fail(
    `the session failed: ${message}${code === undefined ? '' : ` [${code}]`}`,
    adviceFor(asError(code, message)) ?? 'run the forward with --verbose for details',
    details,
  );
}

function asError(code: string | undefined, message: string): unknown {
  const known = ERROR_CODES.find((c) => c === code);
  return known === undefined ? undefined : new TunnelError(known, message);
}

export const destinationCheck: Check = {
  id: 'destination',
  scope: 'forward',
  needs: ['target', 'permission'],
  timeoutMs: 25_000,
  timeoutFix:
    'the data channel or the agent did not answer: check the ssmmessages endpoint (endpoints check) and the agent on the instance',
  async run(ctx, forward) {
    const spec = forward as ForwardSpec;
    const instanceId = resolvedInstance(ctx, spec.name);
    if (instanceId === undefined) return fail('the target was not resolved', 'see the target check');
    const dest = `${spec.remoteHost ?? 'localhost'}:${spec.remotePort}`;
    const details: Record<string, unknown> = { destination: dest };
    const session = new TunnelSession({
      api: ctx.api(),
      factory: createDefaultSessionFactory({ kms: kmsHandlerFactory(ctx.aws) }),
      clock: ctx.clock,
      targetId: instanceId,
      remotePort: spec.remotePort,
      ...(spec.remoteHost === undefined ? {} : { remoteHost: spec.remoteHost }),
      reason: 'tunnel doctor destination check',
      onSecret: () => undefined,
    });
    const onAbort = (): void => void session.terminate();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const ended = new Promise<SessionEnd>((resolve) => session.once('end', resolve));
    try {
      let hs;
      try {
        hs = await session.start();
      } catch (err) {
        return classify(dest, isTunnelError(err) ? err.code : undefined, errorText(err), details);
      }
      details['mode'] = hs.portMode;
      details['sessionId'] = session.sessionId;
      const quietMs = ctx.userTimeoutMs === undefined ? DESTINATION_QUIET_MS : Math.round(ctx.userTimeoutMs / 3);
      let timer: ReturnType<typeof ctx.clock.setTimeout> | undefined;
      const probe =
        hs.portMode === 'mux'
          ? session.probe(quietMs)
          : new Promise<{ reason: 'quiet' }>((resolve) => {
              timer = ctx.clock.setTimeout(() => resolve({ reason: 'quiet' }), quietMs);
            });
      const outcome = await Promise.race([probe, ended.then((end) => ({ end }))]);
      if (timer !== undefined) ctx.clock.clearTimeout(timer);
      const end = 'end' in outcome ? outcome.end : session.endState();
      if (end !== undefined && end.reason !== 'terminated') return classify(dest, end.code, end.message, details);
      const reason = 'reason' in outcome ? outcome.reason : undefined;
      if (reason === 'refused')
        return classify(
          dest,
          'ERR_TUNNEL_CONNECT_TO_PORT',
          'ConnectToPortError (connection refused or unreachable)',
          details,
        );
      details['outcome'] = 'connected';
      const how =
        reason === 'data'
          ? 'the destination sent data first'
          : reason === 'closed'
            ? 'the destination closed the connection at once'
            : `no refusal within ${Math.round(quietMs / 100) / 10} s`;
      return pass(`${instanceId} reached ${dest} (${hs.portMode} mode; ${how})`, details);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await session.terminate();
    }
  },
};
