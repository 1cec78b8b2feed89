/**
 * Shared set-up for engine ⇄ emulator tests: emulator, echo destination, a TunnelManager that
 * records every token. Round trips through a forward: ./round-trip.ts.
 */
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import {
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type StartEmulatorInternals,
} from '../../src/emulator/index.js';
import type { AwsSettings } from '../../src/aws/settings.js';
import { createSsmApi, type SsmApi } from '../../src/aws/ssm-api.js';
import { TunnelManager, type TunnelManagerOptions } from '../../src/tunnel/tunnel-manager.js';
import type { TunnelEvent } from '../../src/tunnel/events.js';
import { seededRandom } from '../../src/tunnel/backoff.js';
import { startEchoServer, type LoopbackServer } from './loopback.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A TCP echo server on 127.0.0.1:0 that answers FIN with FIN after echoing everything. */
export function startEcho(t: Teardown): Promise<LoopbackServer> {
  return startEchoServer(t, { allowHalfOpen: true });
}

export async function startEmu(
  t: Teardown,
  options: EmulatorOptions = {},
  internals: StartEmulatorInternals = {},
): Promise<Emulator> {
  const emu = await startEmulator({ pacing: 'none', seed: 1, ...options }, internals);
  t.teardown(() => emu.close());
  return emu;
}

/** An SsmApi that remembers every token it handed out (to prove none reaches an event). */
export function recordingApi(api: SsmApi, tokens: string[]): SsmApi {
  return {
    ...api,
    startSession: async (i) => {
      const g = await api.startSession(i);
      tokens.push(g.tokenValue);
      return g;
    },
    resumeSession: async (id) => {
      const g = await api.resumeSession(id);
      if (g !== undefined) tokens.push(g.tokenValue);
      return g;
    },
  };
}

export interface Harness {
  manager: TunnelManager;
  events: TunnelEvent[];
  tokens: string[];
}

/** AWS settings that reach only `emu`: its endpoint and keys, one attempt, no ambient environment. */
export function emulatorAwsSettings(emu: Emulator): AwsSettings {
  return {
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: async () => ({ ...emu.credentials }),
    maxAttempts: 1,
    env: {},
  };
}

export function makeManager(t: Teardown, emu: Emulator, extra: Partial<TunnelManagerOptions> = {}): Harness {
  const aws = emulatorAwsSettings(emu);
  const tokens: string[] = [];
  const manager = new TunnelManager({
    aws,
    ssm: recordingApi(createSsmApi(aws), tokens),
    random: seededRandom(3),
    backoff: { initialMs: 20, maxMs: 200 },
    ...extra,
  });
  const events: TunnelEvent[] = [];
  manager.on('event', (e: TunnelEvent) => events.push(e));
  t.teardown(() => manager.stop());
  return { manager, events, tokens };
}

/** Wait until `pred` holds, re-checking on each event of `emitter` (bounded). */
export async function until(
  emitter: NodeJS.EventEmitter,
  event: string,
  pred: () => boolean,
  max = 10_000,
): Promise<void> {
  for (let i = 0; i < max && !pred(); i++) await once(emitter, event);
  if (!pred()) throw new Error(`condition not reached after ${max} '${event}' events`);
}
