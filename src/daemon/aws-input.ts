/**
 * A project's AWS settings as they cross the control socket (plain data), and back into the
 * engine's `AwsSettings` inside the background process. Credentials in the client's environment
 * are used as the SDK's chain would (environment first unless a profile is named); a profile is
 * resolved by the SDK in the background process from the same ~/.aws files.
 */
import type { AwsSettings } from '../aws/settings.js';
import type { AwsInput } from './protocol.js';

/** The variables worth passing: the SDK's own (AWS_*); nothing else of the client's environment. */
export function awsEnvOf(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('AWS_') && v !== undefined) out[k] = v;
  return out;
}

export function awsSettingsFromInput(a: AwsInput): AwsSettings {
  const settings: AwsSettings = { env: { ...a.env } };
  if (a.region !== undefined) settings.region = a.region;
  if (a.profile !== undefined) settings.profile = a.profile;
  if (a.endpoint !== undefined) settings.endpoint = a.endpoint;
  const id = a.env['AWS_ACCESS_KEY_ID'];
  const secret = a.env['AWS_SECRET_ACCESS_KEY'];
  const token = a.env['AWS_SESSION_TOKEN'];
  if (a.profile === undefined && id !== undefined && id !== '' && secret !== undefined && secret !== '') {
    const creds = {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token === undefined || token === '' ? {} : { sessionToken: token }),
    };
    settings.credentials = () => Promise.resolve(creds);
  }
  return settings;
}

/** Key order independent JSON, to compare specs and settings between reloads. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
