/**
 * What the data-channel websocket needs from the AWS side before each connect: the SigV4
 * signature of its upgrade `GET` and the network route (proxy agent, CA list).
 *
 * Wire facts (client 1.2.764.0+, AWS's minimum supported client since 2025-11): the upgrade
 * request of the StreamUrl is signed with SigV4, service `ssmmessages`, the session's region and
 * the caller's current credentials: `Authorization`, `X-Amz-Date` and, for temporary
 * credentials, `X-Amz-Security-Token`; the signed headers are `host`, `x-amz-date` (and the
 * token); the payload is empty. A StreamUrl that is already presigned (any of the `X-Amz-*`
 * query parameters below) is not signed again. The session token of the first text frame is sent
 * as before.
 *
 * Credentials are resolved at every connect (the provider is memoized until shortly before the
 * credentials expire), so a channel that reconnects hours later signs with refreshed SSO or
 * role credentials. The headers are secrets: never logged, never put in an error.
 */
import type { Agent } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsError } from '../errors.js';
import { NodeSha256 } from '../protocol/sigv4-sha256.js';
import { baseCredentialProvider, refreshingCredentials } from './credentials.js';
import { networkFor, type Network } from './network.js';
import type { AwsCredentialIdentityProvider, AwsSettings } from './settings.js';

/** The signing name of the message gateway. */
export const DATA_CHANNEL_SIGNING_SERVICE = 'ssmmessages';

/** Query parameters that make a StreamUrl presigned (then it is not signed again). */
export const PRESIGNED_QUERY_PARAMETERS: readonly string[] = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
];

/** Same shape as session/ConnectExtras (the session layer takes it structurally). */
export interface DataChannelConnectExtras {
  headers?: Record<string, string>;
  agent?: Agent;
  ca?: string[];
}

export function isPresignedUrl(url: URL): boolean {
  return PRESIGNED_QUERY_PARAMETERS.some((p) => url.searchParams.has(p));
}

/** The SigV4 headers of the upgrade GET of `streamUrl` ({} when it is presigned). */
export async function signDataChannelUpgrade(
  streamUrl: string,
  region: string,
  credentials: AwsCredentialIdentityProvider,
  now: Date = new Date(),
): Promise<Record<string, string>> {
  const url = new URL(streamUrl);
  if (isPresignedUrl(url)) return {};
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  const request = new HttpRequest({
    method: 'GET',
    protocol: url.protocol === 'wss:' ? 'https:' : 'http:',
    hostname: url.hostname,
    path,
    query,
    // The Host header the websocket client sends: host, plus the port when not the default.
    headers: { host: url.host },
  });
  let creds;
  try {
    creds = await credentials();
  } catch (e) {
    throw new AwsError(
      'ERR_AWS_CREDENTIALS',
      `no usable AWS credentials to sign the data channel connection: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      ...(creds.sessionToken === undefined ? {} : { sessionToken: creds.sessionToken }),
    },
    region,
    service: DATA_CHANNEL_SIGNING_SERVICE,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(request, { signingDate: now });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) {
    const name = k.toLowerCase();
    if (name === 'host') continue; // the websocket client writes Host itself
    out[name] = String(v);
  }
  return out;
}

export interface DataChannelConnectorOptions {
  credentials: AwsCredentialIdentityProvider;
  /** The session's region (the SSM client's). */
  region: () => Promise<string>;
  network: () => Promise<Network>;
}

/** `prepareConnect` for the data channel: sign the upgrade and route it (proxy, CA). */
export function dataChannelConnector(
  o: DataChannelConnectorOptions,
): (url: string) => Promise<DataChannelConnectExtras> {
  return async (url) => {
    const net = await o.network();
    const headers = await signDataChannelUpgrade(url, await o.region(), o.credentials);
    const extras: DataChannelConnectExtras = { headers };
    if (net.agent !== undefined) extras.agent = net.agent;
    else if (net.ca !== undefined) extras.ca = net.ca;
    return extras;
  };
}

/**
 * The connector for a TunnelManager: credentials from the settings (re-read at each connect),
 * the SSM client's region, and the SSM client's network settings (one proxy/CA config).
 */
export function dataChannelConnectorFor(
  settings: AwsSettings,
  api: { region?(): Promise<string>; network?(): Promise<Network> },
): (url: string) => Promise<DataChannelConnectExtras> {
  const creds = refreshingCredentials(baseCredentialProvider(settings));
  const network = api.network?.bind(api) ?? networkFor(settings);
  return dataChannelConnector({
    credentials: creds.provider,
    region: async () => (await api.region?.()) ?? settings.region ?? 'us-east-1',
    network: () => network(),
  });
}
