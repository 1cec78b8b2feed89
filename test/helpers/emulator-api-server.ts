/**
 * Test helper: an EmulatorState behind `http.createServer(createApiHandler(state))` on
 * 127.0.0.1:0, and SDK clients configured with nothing but endpoint, region and credentials.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { SSMClient } from '@aws-sdk/client-ssm';
import { KMSClient } from '@aws-sdk/client-kms';
import { resolveEmulatorOptions, type EmulatorOptions } from '../../src/emulator/options.js';
import { EmulatorState } from '../../src/emulator/state.js';
import { createApiHandler } from '../../src/emulator/api/ssm-api.js';

export interface ApiServer {
  state: EmulatorState;
  server: Server;
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  ssm(overrides?: {
    credentials?: { accessKeyId: string; secretAccessKey: string };
    maxAttempts?: number;
    systemClockOffset?: number;
  }): SSMClient;
  kms(overrides?: { credentials?: { accessKeyId: string; secretAccessKey: string } }): KMSClient;
}

export interface TapLike {
  teardown(fn: () => unknown): void;
}

export async function startApiServer(t: TapLike, options: EmulatorOptions = {}): Promise<ApiServer> {
  const state = new EmulatorState(resolveEmulatorOptions(options));
  const server = createServer(createApiHandler(state));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  state.setDataChannelBaseUrl(`ws://127.0.0.1:${port}`);
  const clients: Array<{ destroy(): void }> = [];
  t.teardown(async () => {
    for (const c of clients) c.destroy();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const { region, credentials } = state.options;
  return {
    state,
    server,
    endpoint,
    region,
    credentials,
    ssm(o = {}) {
      const c = new SSMClient({
        endpoint,
        region,
        credentials: o.credentials ?? credentials,
        maxAttempts: o.maxAttempts ?? 1,
        ...(o.systemClockOffset === undefined ? {} : { systemClockOffset: o.systemClockOffset }),
      });
      clients.push(c);
      return c;
    },
    kms(o = {}) {
      const c = new KMSClient({ endpoint, region, credentials: o.credentials ?? credentials, maxAttempts: 1 });
      clients.push(c);
      return c;
    },
  };
}

/** The SDK error's `name` and `message`, for t.match. */
export async function sdkError(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}
