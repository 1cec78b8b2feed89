/**
 * The thin, typed SSM API the tunnel engine uses. Every method throws `AwsError` with a stable
 * code (see `error-map.ts`); the service's message text is kept. Only `src/aws/` imports the SDK.
 */
import {
  SSMClient,
  StartSessionCommand,
  ResumeSessionCommand,
  TerminateSessionCommand,
  DescribeInstanceInformationCommand,
  ListTagsForResourceCommand,
  type InstanceInformationStringFilter,
} from '@aws-sdk/client-ssm';
import { baseCredentialProvider, refreshingCredentials } from './credentials.js';
import { mapAwsError } from './error-map.js';
import { capResponseSize } from './response-cap.js';
import { checkGrant, checkInstanceList, checkNextToken, checkTagList } from './response-check.js';
import { regionSource, withRegionContext } from './identity.js';
import { createRequestHandler, networkFor, withDeadline, type Network } from './network.js';
import { resolveSsmEndpoint, type AwsSettings } from './settings.js';
import { isLoopbackName } from '../loopback.js';

export const DOCUMENT_PORT_FORWARDING = 'AWS-StartPortForwardingSession';
export const DOCUMENT_PORT_FORWARDING_REMOTE_HOST = 'AWS-StartPortForwardingSessionToRemoteHost';

export interface StartSessionInput {
  target: string;
  documentName: string;
  /** Document parameters; the wire form is a list of strings per name. */
  parameters: Record<string, string[]>;
  reason?: string;
}

/** StartSession / ResumeSession result. `tokenValue` is secret: never log or emit it. */
export interface SessionGrant {
  sessionId: string;
  streamUrl: string;
  tokenValue: string;
}

export interface InstanceFilter {
  /** `InstanceIds`, `PingStatus`, `tag:<Key>`, `tag-key`, … */
  key: string;
  values: string[];
}

export interface InstanceInfo {
  instanceId: string;
  pingStatus?: string;
  agentVersion?: string;
  platformName?: string;
  computerName?: string;
  name?: string;
  ipAddress?: string;
  resourceType?: string;
}

export interface SsmApi {
  startSession(input: StartSessionInput): Promise<SessionGrant>;
  /** New token for a live session; `undefined` when the service says the session is gone. */
  resumeSession(sessionId: string): Promise<SessionGrant | undefined>;
  terminateSession(sessionId: string): Promise<void>;
  /** DescribeInstanceInformation with `Filters`, all pages. */
  describeInstances(filters: InstanceFilter[]): Promise<InstanceInfo[]>;
  /** Tags of a managed node (ListTagsForResource, ResourceType ManagedInstance). */
  listTags(resourceId: string): Promise<Record<string, string>>;
  /** The region the client calls (signs the data channel with it). */
  region?(): Promise<string>;
  /** `us-east-1 (from --region)`: for messages about things not found. */
  regionDescription?(): Promise<string>;
  /** Proxy, CA and timeouts shared with the data channel. */
  network?(): Promise<Network>;
}

/** Parameters for a port-forwarding StartSession, picking the document from `remoteHost`. */
export function portForwardingRequest(opts: {
  target: string;
  remotePort: number;
  remoteHost?: string;
  reason?: string;
}): StartSessionInput {
  // localPortNumber is what the handshake Properties echo back; we never use it (we bind our
  // own listeners before/independently of sessions), so "0" keeps the agent's side neutral.
  const parameters: Record<string, string[]> = { portNumber: [String(opts.remotePort)], localPortNumber: ['0'] };
  // A loopback host is the instance itself: the plain document makes the agent dial its own
  // localhost, which every agent allows. Agents from 3.3.4851.0 on refuse loopback through
  // ToRemoteHost ("Forwarding to IP address … is forbidden.").
  const remoteHost = opts.remoteHost !== undefined && isLoopbackName(opts.remoteHost) ? undefined : opts.remoteHost;
  if (remoteHost !== undefined) parameters['host'] = [remoteHost];
  return {
    target: opts.target,
    documentName: remoteHost === undefined ? DOCUMENT_PORT_FORWARDING : DOCUMENT_PORT_FORWARDING_REMOTE_HOST,
    parameters,
    ...(opts.reason === undefined ? {} : { reason: opts.reason }),
  };
}

function grant(op: string, out: { SessionId?: unknown; StreamUrl?: unknown; TokenValue?: unknown }): SessionGrant {
  return checkGrant(op, out);
}

/** Build the SDK-backed `SsmApi`. Throws `ERR_AWS_INSECURE_ENDPOINT` at once for a bad endpoint. */
export function createSsmApi(settings: AwsSettings): SsmApi {
  const endpoint = resolveSsmEndpoint(settings);
  const creds = refreshingCredentials(baseCredentialProvider(settings));
  const network = networkFor(settings);
  const deadlineMs = settings.timeoutMs !== undefined && settings.timeoutMs > 0 ? settings.timeoutMs : undefined;
  const client = new SSMClient({
    // Proxy, CA and timeouts (network.ts); every response body read up to MAX_API_RESPONSE_BYTES.
    requestHandler: capResponseSize(createRequestHandler(network)),
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    credentials: creds.provider,
    maxAttempts: settings.maxAttempts ?? 3,
  });

  async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      // Nothing hangs: the call's deadline (--timeout) bounds every attempt and retry.
      return await withDeadline(op, deadlineMs ?? (await network()).inEffect.callTimeoutMs, fn);
    } catch (err) {
      const mapped = mapAwsError(err, op);
      if (mapped.code === 'ERR_AWS_EXPIRED_TOKEN' || mapped.code === 'ERR_AWS_CREDENTIALS') creds.invalidate();
      throw withRegionContext(mapped, await resolvedRegion(), regionSource(settings));
    }
  }

  const resolvedRegion = (): Promise<string | undefined> => client.config.region().catch(() => undefined);

  return {
    region: () => client.config.region(),
    regionDescription: async () => `${(await resolvedRegion()) ?? '(no region)'} (from ${regionSource(settings)})`,
    network,
    startSession: (input) =>
      call('StartSession', async () => {
        const out = await client.send(
          new StartSessionCommand({
            Target: input.target,
            DocumentName: input.documentName,
            Parameters: input.parameters,
            ...(input.reason === undefined ? {} : { Reason: input.reason }),
          }),
        );
        return grant('StartSession', out);
      }),
    resumeSession: (sessionId) =>
      call('ResumeSession', async () => {
        const out = await client.send(new ResumeSessionCommand({ SessionId: sessionId }));
        if (out.TokenValue === undefined || out.TokenValue === '') return undefined;
        return grant('ResumeSession', {
          ...out,
          SessionId: out.SessionId ?? sessionId,
          StreamUrl: out.StreamUrl ?? '',
        });
      }),
    terminateSession: (sessionId) =>
      call('TerminateSession', async () => {
        await client.send(new TerminateSessionCommand({ SessionId: sessionId }));
      }),
    describeInstances: (filters) =>
      call('DescribeInstanceInformation', async () => {
        const wire: InstanceInformationStringFilter[] = filters.map((f) => ({ Key: f.key, Values: f.values }));
        const out: InstanceInfo[] = [];
        let next: string | undefined;
        for (let page = 0; page < 100; page++) {
          const res = await client.send(
            new DescribeInstanceInformationCommand({
              Filters: wire,
              MaxResults: 50,
              ...(next === undefined ? {} : { NextToken: next }),
            }),
          );
          for (const i of checkInstanceList('DescribeInstanceInformation', res.InstanceInformationList)) {
            if (i.InstanceId === undefined) continue;
            const info: InstanceInfo = { instanceId: i.InstanceId };
            if (i.PingStatus !== undefined) info.pingStatus = i.PingStatus;
            if (i.AgentVersion !== undefined) info.agentVersion = i.AgentVersion;
            if (i.PlatformName !== undefined) info.platformName = i.PlatformName;
            if (i.ComputerName !== undefined) info.computerName = i.ComputerName;
            if (i.Name !== undefined) info.name = i.Name;
            if (i.IPAddress !== undefined) info.ipAddress = i.IPAddress;
            if (i.ResourceType !== undefined) info.resourceType = i.ResourceType;
            out.push(info);
          }
          next = checkNextToken('DescribeInstanceInformation', res.NextToken);
          if (next === undefined || next === '') break;
        }
        return out;
      }),
    listTags: (resourceId) =>
      call('ListTagsForResource', async () => {
        const res = await client.send(
          new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: resourceId }),
        );
        // fromEntries defines own properties: a tag key `__proto__` stays a tag.
        return Object.fromEntries(checkTagList('ListTagsForResource', res.TagList));
      }),
  };
}
