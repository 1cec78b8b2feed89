/**
 * Config layers that come from the environment and the command line rather than a file.
 *
 * - `awsEnvLayer`: the SDK's own variables (AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION,
 *   AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL). Lowest precedence: a project file that names its
 *   region beats whatever the shell happens to have.
 * - `tunnelEnvLayer`: TUNNEL_PROFILE, TUNNEL_REGION, TUNNEL_ENDPOINT, TUNNEL_BIND (comma
 *   separated), TUNNEL_TIMEOUT, TUNNEL_PROXY. Overrides the files.
 * - `flagsLayer`: --profile, --region, --endpoint, --bind, --timeout, --proxy. Overrides everything.
 *   (HTTPS_PROXY / NO_PROXY are read by src/aws/network.ts when no `proxy` is set.)
 */
import { validateLayer } from './schema.js';
import type { ConfigPath, ConfigSource, Location } from './source.js';
import type { LayerResult } from './validate.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigFlags {
  profile?: string | undefined;
  region?: string | undefined;
  endpoint?: string | undefined;
  bind?: string | readonly string[] | undefined;
  /** Seconds, or a duration text (`30s`, `2m`). */
  timeout?: number | string | undefined;
  /** HTTP(S) proxy URL for every AWS connection. */
  proxy?: string | undefined;
}

const DEFAULT_KEYS = ['profile', 'region', 'endpoint', 'bind', 'timeout', 'proxy'] as const;
type DefaultKey = (typeof DEFAULT_KEYS)[number];

/** A layer holding only `defaults`, whose positions name the variable or flag each came from. */
function defaultsLayer(
  values: Partial<Record<DefaultKey, unknown>>,
  names: Partial<Record<DefaultKey, string>>,
): LayerResult {
  const defaults: Record<string, unknown> = {};
  for (const k of DEFAULT_KEYS) if (values[k] !== undefined) defaults[k] = values[k];
  const source: ConfigSource = {
    value: { defaults },
    locate(path: ConfigPath): Location {
      const key = path[1];
      const name = Object.entries(names).find(([k]) => k === key)?.[1];
      return name === undefined ? {} : { file: name };
    },
  };
  return validateLayer(source);
}

function pick(env: Env, ...names: string[]): [string, string] | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return [n, v];
  }
  return undefined;
}

export function awsEnvLayer(env: Env): LayerResult {
  const values: Partial<Record<DefaultKey, unknown>> = {};
  const names: Partial<Record<DefaultKey, string>> = {};
  const set = (k: DefaultKey, found: [string, string] | undefined): void => {
    if (found === undefined) return;
    names[k] = `$${found[0]}`;
    values[k] = found[1];
  };
  set('profile', pick(env, 'AWS_PROFILE'));
  set('region', pick(env, 'AWS_REGION', 'AWS_DEFAULT_REGION'));
  set('endpoint', pick(env, 'AWS_ENDPOINT_URL_SSM', 'AWS_ENDPOINT_URL'));
  return defaultsLayer(values, names);
}

export function tunnelEnvLayer(env: Env): LayerResult {
  const values: Partial<Record<DefaultKey, unknown>> = {};
  const names: Partial<Record<DefaultKey, string>> = {};
  for (const k of DEFAULT_KEYS) {
    const found = pick(env, `TUNNEL_${k.toUpperCase()}`);
    if (found === undefined) continue;
    names[k] = `$${found[0]}`;
    values[k] = found[1];
  }
  return defaultsLayer(values, names);
}

export function flagsLayer(flags: ConfigFlags): LayerResult {
  const values: Partial<Record<DefaultKey, unknown>> = {};
  const names: Partial<Record<DefaultKey, string>> = {};
  for (const k of DEFAULT_KEYS) {
    const v = flags[k];
    if (v === undefined) continue;
    names[k] = `--${k}`;
    values[k] = typeof v === 'object' ? [...v] : v;
  }
  return defaultsLayer(values, names);
}
