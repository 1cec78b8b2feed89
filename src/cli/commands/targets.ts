/** `tunnel targets [--tag K=V]`: managed instances. */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function targetsCommand(io: CliIo) {
  return defineCommand({
    command: 'targets',
    describe: 'List managed instances (id, Name tag, ping status, agent, platform), or databases and ECS tasks',
    options: ['config', 'user-config', 'profile', 'region', 'endpoint', 'json', 'quiet'],
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('tag', { type: 'string', array: true, describe: 'only instances with tag KEY=VALUE (repeatable)' })
        .option('rds', { type: 'boolean', default: false, describe: 'RDS instances and Aurora clusters (rds:NAME)' })
        .option('cache', { type: 'boolean', default: false, describe: 'ElastiCache groups and serverless caches' })
        .option('ecs', { type: 'string', describe: 'ECS tasks and containers of CLUSTER (ecs:CLUSTER/…)' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        if (args.rds || args.cache || args.ecs !== undefined) {
          const { namedTargets } = await import('./named-impl.js');
          return namedTargets(io, args, { rds: args.rds, cache: args.cache, ecs: args.ecs });
        }
        const { targets } = await import('./info-impl.js');
        return targets(io, args, args.tag ?? []);
      });
    },
  });
}
