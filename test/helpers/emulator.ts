/**
 * t-aware emulator wrapper: `const emu = await withEmulator(t, options)` starts the emulator on
 * 127.0.0.1:0 and closes it in `t.teardown`. `startSession(emu, …)` calls StartSession through the
 * real `@aws-sdk/client-ssm`, configured with nothing but the emulator's endpoint.
 */
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { startEmulator, type Emulator, type StartEmulatorInternals } from '../../src/emulator/index.js';
import type { EmulatorOptions } from '../../src/emulator/options.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function withEmulator(
  t: Teardown,
  options: EmulatorOptions = {},
  internals: StartEmulatorInternals = {},
): Promise<Emulator> {
  const emu = await startEmulator(options, internals);
  t.teardown(() => emu.close());
  return emu;
}

/** An SDK client for the emulator (one attempt: errors surface at once). */
export function ssmClient(emu: Emulator): SSMClient {
  return new SSMClient({ endpoint: emu.endpoint, region: emu.region, credentials: emu.credentials, maxAttempts: 1 });
}

export interface StartedSession {
  sessionId: string;
  streamUrl: string;
  tokenValue: string;
}

export async function startSession(
  emu: Emulator,
  input: { target?: string; documentName?: string; parameters?: Record<string, string[]> } = {},
): Promise<StartedSession> {
  const client = ssmClient(emu);
  try {
    const target = input.target ?? emu.state.options.instances[0]?.instanceId ?? '';
    const out = await client.send(
      new StartSessionCommand({
        Target: target,
        DocumentName: input.documentName ?? 'AWS-StartPortForwardingSession',
        Parameters: input.parameters ?? { portNumber: ['80'], localPortNumber: ['0'] },
      }),
    );
    if (out.SessionId === undefined || out.StreamUrl === undefined || out.TokenValue === undefined)
      throw new Error('StartSession returned no session');
    return { sessionId: out.SessionId, streamUrl: out.StreamUrl, tokenValue: out.TokenValue };
  } finally {
    client.destroy();
  }
}

/**
 * Register a session directly in the emulator's state (no API call): for tests that drive the
 * emulator with a fake clock, where SigV4 dates would not match.
 */
export function createRawSession(
  emu: Emulator,
  input: { properties: Record<string, string>; instanceId?: string; documentName?: string },
): StartedSession {
  const instanceId = input.instanceId ?? emu.state.options.instances[0]?.instanceId ?? '';
  const instance = emu.state.instances.get(instanceId);
  if (!instance) throw new Error(`no instance ${instanceId}`);
  const s = emu.state.createSession({
    target: instanceId,
    instance,
    documentName: input.documentName ?? 'AWS-StartPortForwardingSession',
    parameters: Object.fromEntries(Object.entries(input.properties).map(([k, v]) => [k, [v]])),
    properties: input.properties,
  });
  return { sessionId: s.sessionId, streamUrl: s.streamUrl, tokenValue: emu.state.issueToken(s.sessionId) };
}

/** Properties of AWS-StartPortForwardingSession after substitution. */
export function portProperties(
  portNumber: number | string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { portNumber: String(portNumber), type: 'LocalPortForwarding', localPortNumber: '0', ...extra };
}

/** What a client needs in its environment to reach `emu` (the SDK's own variable names). */
export function emulatorAwsEnv(emu: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_SSM: emu.endpoint,
    AWS_REGION: emu.region,
    AWS_ACCESS_KEY_ID: emu.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emu.credentials.secretAccessKey,
    ...extra,
  };
}

/**
 * A clean environment for a `tunnel` subprocess against `emu`: no ambient AWS settings, no
 * instance metadata lookups, and HOME in `home` so no user config is picked up.
 */
export function cliProcessEnv(emu: Emulator, home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...emulatorAwsEnv(emu, extra),
  };
}
