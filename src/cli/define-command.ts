/**
 * A typed yargs command module: the handler's argument type is inferred from the builder, so
 * no handler casts or re-declares its options (after nx's `makeCommandModule`).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { hideUnusedOptions } from './options.js';
import type { GlobalOptionName } from './options.js';

export interface TypedCommand<T, U> {
  command: string | readonly string[];
  describe: string | false;
  builder: (y: Argv<T>) => Argv<U>;
  handler: (args: ArgumentsCamelCase<U>) => Promise<void>;
  /** The global options this command reads; its help lists only these (default: all). */
  options?: readonly GlobalOptionName[];
}

export function defineCommand<T, U>(mod: TypedCommand<T, U>): CommandModule<T, U> {
  return {
    command: typeof mod.command === 'string' ? mod.command : [...mod.command],
    describe: mod.describe,
    builder:
      mod.options === undefined ? mod.builder : (y: Argv<T>) => hideUnusedOptions(mod.builder(y), mod.options ?? []),
    handler: mod.handler,
  };
}
