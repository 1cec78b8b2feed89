/**
 * From the merged config to the engine's `AwsSettings`. When a profile is named and a person is
 * at the terminal, credentials come from the SDK chain with an MFA prompt (assume-role profiles
 * with `mfa_serial` ask for a code); otherwise the aws/ layer's default chain is used.
 */
import type { AwsCredentials, AwsSettings } from '../aws/settings.js';
import { checkProfileExists } from '../aws/identity.js';
import type { TunnelConfig } from '../config/schema.js';
import type { CliIo } from './io.js';

export async function awsSettingsFor(io: CliIo, config: TunnelConfig): Promise<AwsSettings> {
  const d = config.defaults;
  const settings: AwsSettings = { env: { ...io.env } };
  if (d.region !== undefined) {
    settings.region = d.region;
    const from = sourceOf(config, 'region');
    if (from !== undefined) settings.regionSource = from;
  }
  if (d.profile !== undefined) {
    settings.profile = d.profile;
    // An unknown profile is named with the files that were read (ERR_AWS_UNKNOWN_PROFILE).
    await checkProfileExists(d.profile, io.env, sourceOf(config, 'profile'));
  }
  if (d.endpoint !== undefined) settings.endpoint = d.endpoint;
  if (d.proxy !== undefined) {
    settings.proxy = d.proxy;
    settings.proxySource = sourceOf(config, 'proxy') ?? 'proxy';
  }
  // Every AWS API call ends within --timeout (connect and response timeouts are shorter).
  settings.timeoutMs = d.timeoutMs;
  const fromEnv = envCredentials(io.env);
  if (d.profile === undefined && fromEnv !== undefined) {
    // As the SDK's own chain does (environment first unless a profile is named), but from the
    // injected environment rather than the ambient one.
    settings.credentials = () => Promise.resolve(fromEnv);
  } else if (d.profile !== undefined && io.stdinIsTTY && io.stdin !== undefined) {
    // Assume-role profiles with `mfa_serial` ask for a code on the terminal.
    settings.mfaCodeProvider = (serial: string) => promptLine(io, `MFA code for ${serial}: `);
  }
  return settings;
}

/** Where a `defaults` key came from: `--region`, `$AWS_REGION`, or `FILE:LINE`. */
function sourceOf(config: TunnelConfig, key: string): string | undefined {
  const loc = config.origins.get(`defaults.${key}`)?.locate(['defaults', key]);
  if (loc?.file === undefined) return undefined;
  return loc.line === undefined ? loc.file : `${loc.file}:${loc.line}`;
}

function envCredentials(env: Readonly<Record<string, string | undefined>>): AwsCredentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId === undefined || accessKeyId === '' || secretAccessKey === undefined || secretAccessKey === '')
    return undefined;
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken === undefined || sessionToken === '' ? {} : { sessionToken }),
  };
}

/** Ask on stderr, read one line from stdin (the MFA code; it is not echoed anywhere else). */
export function promptLine(io: CliIo, question: string): Promise<string> {
  const input = io.stdin;
  if (input === undefined) return Promise.resolve('');
  io.stderr.write(question);
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer | string): void => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        done();
        resolve(buf.slice(0, nl).replace(/\r$/, '').trim());
      }
    };
    const onEnd = (): void => {
      done();
      resolve(buf.trim());
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const done = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}
