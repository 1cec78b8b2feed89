/**
 * Background mode: `tunnel status`, `tunnel down`, `tunnel logs`, `tunnel daemon`,
 * `tunnel service install|uninstall` (`tunnel up -d` is the up command's flag).
 */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function statusCommand(io: CliIo) {
  return defineCommand({
    command: 'status [names..]',
    describe: 'The background forwards (from `tunnel up -d`): state, sessions, traffic; exit 0 when all are ready',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('names', { type: 'string', array: true, describe: 'forward names (default: all)' })
        .option('watch', { alias: 'w', type: 'boolean', default: false, describe: 'redraw every second until Ctrl-C' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { status } = await import('../background/manage.js');
        return status(io, args, args.names ?? [], args.watch);
      });
    },
  });
}

export function downCommand(io: CliIo) {
  return defineCommand({
    command: 'down [names..]',
    describe: "Stop background forwards: the named ones, this project's (default), or --all",
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('names', { type: 'string', array: true, describe: 'forward names' })
        .option('all', { type: 'boolean', default: false, describe: 'every background forward, of every project' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { down } = await import('../background/manage.js');
        return down(io, args, args.names ?? [], args.all);
      });
    },
  });
}

export function logsCommand(io: CliIo) {
  return defineCommand({
    command: 'logs [names..]',
    describe: "The background process's log (events of every forward, or of the named ones)",
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('names', { type: 'string', array: true, describe: 'forward names (default: all)' })
        .option('follow', {
          alias: 'f',
          type: 'boolean',
          default: false,
          describe: 'keep printing new lines until Ctrl-C',
        }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { logs } = await import('../background/manage.js');
        return logs(io, args, args.names ?? [], args.follow);
      });
    },
  });
}

export function daemonCommand(io: CliIo) {
  return defineCommand({
    command: 'daemon',
    describe: 'Run the background process in the foreground (what `up -d` starts; for systemd/launchd)',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('keep', { type: 'boolean', default: false, describe: 'stay up while holding no forwards' })
        .option('spawned', { type: 'boolean', default: false, hidden: true }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { daemon } = await import('../background/service.js');
        return daemon(io, args.keep, args.spawned);
      });
    },
  });
}

export function serviceCommand(io: CliIo) {
  return defineCommand({
    command: 'service <action>',
    describe: 'Install (or uninstall) a systemd user unit / launchd agent running `tunnel daemon --keep` at login',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('action', { type: 'string', choices: ['install', 'uninstall'] as const, demandOption: true })
        .option('kind', {
          type: 'string',
          choices: ['systemd', 'launchd'] as const,
          describe: 'default: launchd on macOS, systemd elsewhere',
        })
        .option('stdout', { type: 'boolean', default: false, describe: 'print the file instead of writing it' }),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { service } = await import('../background/service.js');
        return service(io, args.action === 'uninstall' ? 'uninstall' : 'install', args.kind, args.stdout);
      });
    },
  });
}
