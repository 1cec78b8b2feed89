/** Public surface of the config layer. */
export { DEFAULT_CONFIG, DEFAULT_TIMEOUT_MS, NAME_RE, parseDuration, validateLayer } from './schema.js';
export type { ConfigDefaults, ConfigLayer, ForwardConfig, TunnelConfig } from './schema.js';
export { mergeConfig } from './merge.js';
export { checkConfig, envName } from './check.js';
export { finishConfig, formatIssue, validateConfig } from './validate.js';
export type { LayerResult } from './validate.js';
export { awsEnvLayer, flagsLayer, tunnelEnvLayer } from './env.js';
export type { ConfigFlags, Env } from './env.js';
export { parseConfigText, plainSource, formatPath } from './source.js';
export type { ConfigSource, Location } from './source.js';
export {
  expandName,
  forwardSpecOf,
  impliedLocalPort,
  parseSpecText,
  resolveTarget,
  selectForwards,
  specsFromWords,
} from './resolve.js';
export {
  findProjectConfig,
  loadConfig,
  PROJECT_CONFIG_NAMES,
  readTextFile,
  userConfigPath,
  writeConfigFile,
} from './load.js';
export type { LoadConfigOptions, LoadedConfig } from './load.js';
export { STARTER_CONFIG } from './starter.js';
