/** Options every command takes, and the config they produce. */
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { ConfigFlags } from '../config/env.js';
import type { CliIo } from './io.js';

export function withGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: 'Project config file (default: .tunnel.yaml found from the current directory up)',
      global: true,
    })
    .option('user-config', {
      type: 'boolean',
      default: true,
      describe: 'Merge the user config ($XDG_CONFIG_HOME/tunnel/config.yaml); --no-user-config to skip',
      global: true,
    })
    .option('profile', { type: 'string', describe: 'AWS profile', global: true })
    .option('region', { type: 'string', describe: 'AWS region', global: true })
    .option('endpoint', { type: 'string', describe: 'SSM API endpoint URL (also AWS_ENDPOINT_URL_SSM)', global: true })
    .option('bind', {
      type: 'string',
      array: true,
      describe: 'Local address(es) to listen on (default 127.0.0.1 and ::1)',
      global: true,
    })
    .option('wait', {
      type: 'boolean',
      default: false,
      describe: 'Fail unless every forward is ready within --timeout',
      global: true,
    })
    .option('timeout', {
      type: 'string',
      describe: 'How long forwards may take to become ready: seconds or 30s, 2m (default 30s)',
      global: true,
    })
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'Print only NDJSON events on stdout (docs/events.md)',
      global: true,
    })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print only errors', global: true })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe: 'Print sessions and connections too',
      global: true,
    });
}

/** The global options by what they are about; a command lists those it uses (define-command.ts). */
export const OPTION_GROUPS = {
  config: ['config', 'user-config'],
  aws: ['profile', 'region', 'endpoint'],
  forward: ['bind', 'wait', 'timeout'],
  output: ['json', 'quiet', 'verbose'],
} as const;
export type GlobalOptionName = (typeof OPTION_GROUPS)[keyof typeof OPTION_GROUPS][number];
export const GLOBAL_OPTION_NAMES: readonly GlobalOptionName[] = Object.values(OPTION_GROUPS).flat();
/** Every global option: what the forwarding commands (`tunnel SPEC`, `up`, `run`) use. */
export const ALL_OPTIONS: readonly GlobalOptionName[] = GLOBAL_OPTION_NAMES;

/**
 * Hide the global options a command does not use from its help, so `tunnel init --help` lists
 * only what init reads. (yargs parses global options everywhere; this only shapes the help.)
 */
export function hideUnusedOptions<T>(y: Argv<T>, uses: readonly GlobalOptionName[]): Argv<T> {
  let out = y;
  for (const name of GLOBAL_OPTION_NAMES) if (!uses.includes(name)) out = out.hide(name);
  return out;
}

type ArgvOf<A> = A extends Argv<infer X> ? X : never;
/** The global options as the top-level yargs instance declares them. */
export type GlobalOptions = ArgvOf<ReturnType<typeof withGlobalOptions<object>>>;
/** The parsed global options, as every command's handler sees them. */
export type GlobalArgs = ArgumentsCamelCase<GlobalOptions>;

/** The config-relevant flags, as `loadConfig` takes them. */
export function configFlags(args: GlobalArgs): ConfigFlags {
  return {
    profile: args.profile,
    region: args.region,
    endpoint: args.endpoint,
    bind:
      args.bind === undefined
        ? undefined
        : args.bind
            .flatMap((b) => b.split(','))
            .map((b) => b.trim())
            .filter((b) => b !== ''),
    timeout: args.timeout,
  };
}

export function loadOptions(io: CliIo, args: GlobalArgs) {
  return {
    cwd: io.cwd,
    env: io.env,
    homedir: io.homedir,
    configPath: args.config,
    flags: configFlags(args),
    ignoreUserConfig: !args.userConfig,
  };
}
