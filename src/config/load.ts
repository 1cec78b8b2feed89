/**
 * Finding and reading config files: the only part of `config/` that touches the file system.
 *
 * Project config: `.tunnel.yaml`, `.tunnel.yml` or `.tunnel.json`, searched from the working
 * directory upward (first match wins; `--config`/`$TUNNEL_CONFIG` names one explicitly).
 * User config: `$XDG_CONFIG_HOME/tunnel/config.yaml`, default `~/.config/tunnel/config.yaml`.
 * Precedence, lowest first: AWS_* env, user file, project file, TUNNEL_* env, flags.
 */
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { readSmallTextFile } from '../files.js';
import type { ConfigIssue } from '../errors.js';
import { awsEnvLayer, flagsLayer, tunnelEnvLayer } from './env.js';
import type { ConfigFlags, Env } from './env.js';
import { validateLayer } from './schema.js';
import type { TunnelConfig } from './schema.js';
import { parseConfigText } from './source.js';
import { finishConfig, sortIssues } from './validate.js';
import type { LayerResult } from './validate.js';

export const PROJECT_CONFIG_NAMES = ['.tunnel.yaml', '.tunnel.yml', '.tunnel.json'] as const;

export interface LoadConfigOptions {
  cwd: string;
  env: Env;
  /** Home directory, for the default user config location. */
  homedir: string;
  /** `--config`: use this project file instead of searching (relative to cwd). */
  configPath?: string | undefined;
  flags?: ConfigFlags;
  /** Skip the user config (tests, `--no-user-config`). */
  ignoreUserConfig?: boolean;
}

export interface LoadedConfig {
  config: TunnelConfig;
  /** The project file used, if any. */
  projectFile?: string;
  /** The user file used, if it exists. */
  userFile?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first project config file from `cwd` upward, or undefined. */
export async function findProjectConfig(cwd: string): Promise<string | undefined> {
  let dir = resolve(cwd);
  for (let depth = 0; depth < 256; depth++) {
    for (const name of PROJECT_CONFIG_NAMES) {
      const p = join(dir, name);
      if (await exists(p)) return p;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}

export function userConfigPath(env: Env, homedir: string): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(homedir, '.config');
  return join(base, 'tunnel', 'config.yaml');
}

/** Config files larger than this are refused (docs/config.md): no config needs more. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

function readIssue(file: string, reason: string, errno: string | undefined): ConfigIssue {
  const hint =
    errno === 'EACCES' || errno === 'EPERM'
      ? 'check its permissions'
      : errno === undefined
        ? 'name the .tunnel.yaml (or .json) file itself'
        : 'check the path';
  return { file, path: '', message: `the file ${reason}`, hint };
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw reaches the caller as a rejection
async function readLayer(file: string, issues: ConfigIssue[]): Promise<LayerResult | undefined> {
  const read = readSmallTextFile(file, MAX_CONFIG_BYTES);
  if (!read.ok) {
    issues.push(readIssue(file, read.reason, read.errno));
    return undefined;
  }
  try {
    return validateLayer(parseConfigText(read.text, file));
  } catch (e) {
    if (e instanceof ConfigError) {
      issues.push(...e.issues);
      return undefined;
    }
    throw e;
  }
}

/** Find, read, validate and merge every layer. Throws `ConfigError` listing every problem. */
export async function loadConfig(options: LoadConfigOptions): Promise<LoadedConfig> {
  const { cwd, env } = options;
  const explicit = options.configPath ?? (env['TUNNEL_CONFIG'] !== '' ? env['TUNNEL_CONFIG'] : undefined);
  let projectFile: string | undefined;
  if (explicit !== undefined) {
    projectFile = resolve(cwd, explicit);
    if (!(await exists(projectFile))) {
      throw new ConfigError('ERR_CONFIG_NOT_FOUND', `config file ${projectFile} does not exist`, [
        { file: projectFile, path: '', message: 'no such file', hint: 'check the path, or run `tunnel init`' },
      ]);
    }
  } else projectFile = await findProjectConfig(cwd);
  const userPath = options.ignoreUserConfig === true ? undefined : userConfigPath(env, options.homedir);
  const userFile = userPath !== undefined && (await exists(userPath)) ? userPath : undefined;

  const parseIssues: ConfigIssue[] = [];
  const layers: LayerResult[] = [awsEnvLayer(env)];
  for (const file of [userFile, projectFile]) {
    if (file === undefined) continue;
    const layer = await readLayer(file, parseIssues);
    if (layer !== undefined) layers.push(layer);
  }
  layers.push(tunnelEnvLayer(env), flagsLayer(options.flags ?? {}));
  if (parseIssues.length > 0) {
    const others = layers.flatMap((l) => l.issues);
    throw new ConfigError(
      'ERR_CONFIG_PARSE',
      `cannot parse the configuration: ${parseIssues.length} problem${parseIssues.length === 1 ? '' : 's'}`,
      sortIssues([...parseIssues, ...others]),
    );
  }
  const config = finishConfig(layers);
  return {
    config,
    ...(projectFile === undefined ? {} : { projectFile }),
    ...(userFile === undefined ? {} : { userFile }),
  };
}

/** Write a new file (for `tunnel init`); refuses to overwrite unless `force`. */
export async function writeConfigFile(path: string, text: string, options: { force?: boolean } = {}): Promise<void> {
  if (options.force !== true && (await exists(path))) {
    throw new ConfigError('ERR_CONFIG_INVALID', `${path} already exists`, [
      { file: path, path: '', message: 'file exists', hint: 'use --force to overwrite, or edit it' },
    ]);
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { encoding: 'utf8', flag: options.force === true ? 'w' : 'wx' });
}

/** Read a file the caller named explicitly (e.g. the emulator's `--config`). */
// eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw reaches the caller as a rejection
export async function readTextFile(path: string): Promise<string> {
  const read = readSmallTextFile(path, MAX_CONFIG_BYTES);
  if (read.ok) return read.text;
  throw new ConfigError(
    read.errno === 'ENOENT' ? 'ERR_CONFIG_NOT_FOUND' : 'ERR_CONFIG_PARSE',
    `cannot read ${path}: the file ${read.reason}`,
    [readIssue(path, read.reason, read.errno)],
  );
}
