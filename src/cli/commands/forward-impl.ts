/** `tunnel SPEC…` and `tunnel up [NAME|GROUP…]`. */
import { UsageError } from '../../errors.js';
import { selectForwards, specsFromWords } from '../../config/resolve.js';
import { awsSettingsFor } from '../aws-settings.js';
import { loadFor, rendererFor } from '../context.js';
import { runForwarding } from '../forwarding.js';
import { withOverrides } from '../spec-flags.js';
import type { SpecOverrides } from '../spec-flags.js';
import { suggestCommand } from '../suggest.js';
import type { CliIo } from '../io.js';
import type { GlobalArgs } from '../options.js';
import type { TunnelConfig } from '../../config/schema.js';
import type { ForwardSpec } from '../../tunnel/forward-spec.js';

export async function forwardSpecs(
  io: CliIo,
  args: GlobalArgs,
  words: readonly string[],
  commands: readonly string[] = [],
  overrides: SpecOverrides = {},
): Promise<number> {
  if (words.length === 0) {
    throw new UsageError(
      'nothing to forward: give a SPEC such as db:5432 (TARGET:REMOTE_PORT[:LOCAL_PORT]), or use `tunnel up`',
    );
  }
  const { stripBindAuto, withBindAuto } = await import('../named.js');
  const auto = stripBindAuto(args);
  const { config } = await loadFor(io, auto.args);
  // `tunnel stauts`: a word that is no forward, group or SPEC but nearly a command.
  for (const w of words) {
    if (w.includes(':') || Object.hasOwn(config.forwards, w) || Object.hasOwn(config.groups, w)) continue;
    const meant = suggestCommand(w, commands);
    if (meant !== undefined) {
      throw new UsageError(
        `unknown command "${w}": did you mean \`tunnel ${meant}\`? (a forward is NAME or TARGET:PORT; \`tunnel --help\` lists the commands)`,
      );
    }
  }
  return forwardUntilStopped(
    io,
    auto.args,
    config,
    withBindAuto(withOverrides(specsFromWords(config, words), overrides), auto.bindAuto),
  );
}

export async function up(io: CliIo, argv: GlobalArgs, names: readonly string[]): Promise<number> {
  const { stripBindAuto, withBindAuto } = await import('../named.js');
  const auto = stripBindAuto(argv);
  const args = auto.args;
  const loaded = await loadFor(io, args);
  const { config } = loaded;
  if (Object.keys(config.forwards).length === 0) {
    const where = loaded.projectFile ?? 'no .tunnel.yaml found';
    throw new UsageError(
      `the configuration has no forwards (${where}); run \`tunnel init\` or give SPECs: tunnel db:5432`,
    );
  }
  return forwardUntilStopped(io, args, config, withBindAuto(selectForwards(config, names), auto.bindAuto));
}

/** Bring `specs` up and keep them up until a signal (or, with --wait, until one fails). */
async function forwardUntilStopped(
  io: CliIo,
  args: GlobalArgs,
  config: TunnelConfig,
  specs: ForwardSpec[],
): Promise<number> {
  const aws = await awsSettingsFor(io, config);
  const renderer = rendererFor(io, args);
  // Issue #19: databases and ECS tasks by name, bind: auto.
  const { namedApis, resolveNamedSpecs, describeResolved, autoBindNames } = await import('../named.js');
  const named = await resolveNamedSpecs(namedApis(aws), specs, {
    bind: true,
    autoNames: autoBindNames(config.forwards),
  });
  for (const line of describeResolved(named)) renderer.info(line);
  return runForwarding(io, {
    specs: named.specs,
    aws,
    renderer,
    timeoutMs: config.defaults.timeoutMs,
    requireAll: args.wait,
  });
}
