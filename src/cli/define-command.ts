/**
 * A typed yargs command module: the handler's argument type is inferred from the builder, so
 * no handler casts or re-declares its options (after nx's `makeCommandModule`).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

export interface TypedCommand<T, U> {
  command: string | readonly string[];
  describe: string | false;
  builder: (y: Argv<T>) => Argv<U>;
  handler: (args: ArgumentsCamelCase<U>) => Promise<void>;
}

export function defineCommand<T, U>(mod: TypedCommand<T, U>): CommandModule<T, U> {
  return {
    command: typeof mod.command === 'string' ? mod.command : [...mod.command],
    describe: mod.describe,
    builder: mod.builder,
    handler: mod.handler,
  };
}
