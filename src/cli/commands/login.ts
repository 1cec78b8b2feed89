/** `tunnel login [--profile P] [--no-browser]` and `tunnel logout [--profile P]` (issue #15). */
import type { Argv } from 'yargs';
import { defineCommand } from '../define-command.js';
import { reportOptions } from '../context.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { runCommand } from '../run-command.js';

export function loginCommand(io: CliIo) {
  return defineCommand({
    command: 'login',
    describe: 'Sign in to IAM Identity Center (SSO) for a profile; the AWS CLI and SDKs share the sign-in',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('browser', {
          type: 'boolean',
          default: true,
          describe: 'Open the verification page in a browser where one is available (--no-browser to skip)',
        })
        .example('$0 login --profile dev', 'then approve the code shown in the browser'),
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { login } = await import('./login-impl.js');
        return login(io, args, { browser: args.browser });
      });
    },
  });
}

export function logoutCommand(io: CliIo) {
  return defineCommand({
    command: 'logout',
    describe: 'Sign out of IAM Identity Center for a profile (removes the cached sign-in)',
    builder: (y: Argv<GlobalOptions>) => y,
    handler: async (args) => {
      await runCommand(io, reportOptions(args), async () => {
        const { logout } = await import('./login-impl.js');
        return logout(io, args);
      });
    },
  });
}
