/**
 * The CLI rows of docs/bad-inputs.md: each is run as `node dist/bin/tunnel.js … --json` against
 * a shared emulator (test/bad-inputs/cli.test.ts) and must fail with this error code, this exit
 * status, and a message matching `message` (the text the user sees after `tunnel: `).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOSTILE_CASES } from './cli-cases-hostile.js';

export interface CliContext {
  /** A fresh empty directory (the command's cwd and $HOME). */
  dir: string;
  /** A local port something else is listening on. */
  busyPort: number;
  /** A loopback port nothing listens on. */
  closedPort: number;
  /** A port the emulator's demo instance reaches (a real listener). */
  openPort: number;
}

export interface CliCase {
  id: string;
  /** What the user did (the table's first column). */
  input: string;
  args(ctx: CliContext): string[];
  /** Environment changes (undefined value = unset). */
  env?: Record<string, string | undefined>;
  /** Files to write into ctx.dir first (e.g. `.tunnel.yaml`). */
  files?(ctx: CliContext): Record<string, string>;
  expect: { code: string; exit: number; message: RegExp };
  /** Kill the process after this long (default 30 s): only for rows whose bug makes it hang. */
  killAfterMs?: number;
  /** Text that must appear nowhere in stdout or stderr (secrets from the wrong file). */
  absent?: string[];
  /** stdout plus stderr must stay shorter than this. */
  maxOutputChars?: number;
}

const W = ['--wait', '--timeout', '8s'];

/** A project config with one forward `db` (target Name tag demo) plus `extra` YAML lines. */
function config(lines: string[]): Record<string, string> {
  return { '.tunnel.yaml': lines.join('\n') + '\n' };
}

export const CLI_CASES: CliCase[] = [
  {
    id: 'yaml-malformed',
    input: '`.tunnel.yaml` is not valid YAML (unclosed `[`)',
    args: () => ['up'],
    files: () => config(['forwards:', '  db: [oops']),
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /cannot parse the configuration/ },
  },
  {
    id: 'yaml-unknown-key',
    input: 'unknown top-level key `forwrds:`',
    args: () => ['up'],
    files: () => config(['forwrds:', '  db:', '    target: { name: demo }', '    remotePort: 5432']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'yaml-unknown-forward-key',
    input: 'unknown key inside a forward (`remote_port:`)',
    args: () => ['up'],
    files: () => config(['forwards:', '  db:', '    target: { name: demo }', '    remote_port: 5432']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'yaml-duplicate-local-port',
    input: 'two forwards with the same `localPort`',
    args: () => ['up'],
    files: () =>
      config([
        'forwards:',
        '  a:',
        '    target: { name: demo }',
        '    remotePort: 5432',
        '    localPort: 15432',
        '  b:',
        '    target: { name: demo }',
        '    remotePort: 6379',
        '    localPort: 15432',
      ]),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'yaml-invalid-port',
    input: '`remotePort: 70000` in the config',
    args: () => ['up'],
    files: () => config(['forwards:', '  db:', '    target: { name: demo }', '    remotePort: 70000']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'yaml-unknown-alias',
    input: '`target: demo` where `demo` is not a `targets:` alias',
    args: () => ['up'],
    files: () => config(['forwards:', '  db:', '    target: demo', '    remotePort: 5432']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'config-not-found',
    input: '`--config` names a file that does not exist',
    args: () => ['up', '--config', '/nonexistent/tunnel.yaml'],
    expect: { code: 'ERR_CONFIG_NOT_FOUND', exit: 78, message: /does not exist/ },
  },
  {
    id: 'unknown-forward',
    input: '`tunnel nosuchforward` (no such forward, no port)',
    args: () => ['nosuchforward'],
    expect: { code: 'ERR_CONFIG_UNKNOWN_FORWARD', exit: 78, message: /no forward or group named "nosuchforward"/ },
  },
  {
    id: 'spec-port-range',
    input: '`tunnel demo:70000` (port out of range)',
    args: () => ['demo:70000'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /is not a port \(1-65535\)/ },
  },
  {
    id: 'spec-port-text',
    input: '`tunnel demo:abc` (port is not a number)',
    args: () => ['demo:abc'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /is not a port/ },
  },
  {
    id: 'spec-local-port-range',
    input: '`tunnel demo:5432:99999` (local port out of range)',
    args: () => ['demo:5432:99999'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /is not a port/ },
  },
  {
    id: 'spec-flag-sessions',
    input: '`tunnel demo:80 --sessions 0` (session count out of range for an ad-hoc forward)',
    args: (c) => [`demo:${c.openPort}:auto`, '--sessions', '0'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /--sessions: 0 is not a valid session count/ },
  },
  {
    id: 'mistyped-command',
    input: '`tunnel tragets` (a mistyped command)',
    args: () => ['tragets'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /unknown command "tragets": did you mean `tunnel targets`\?/ },
  },
  {
    id: 'unknown-flag',
    input: 'unknown option `--bogus`',
    args: () => ['--bogus'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /Unknown argument: bogus/ },
  },
  {
    id: 'bad-timeout',
    input: '`--timeout soon`',
    args: () => ['demo:5432', '--timeout', 'soon'],
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'bind-not-ip',
    input: '`--bind notanaddress`',
    args: () => ['demo:5432', '--bind', 'notanaddress'],
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'bind-not-local',
    input: '`--bind 192.0.2.1` (an address this machine does not have)',
    args: (c) => [`demo:${c.openPort}:auto`, '--bind', '192.0.2.1', ...W],
    expect: { code: 'ERR_TUNNEL_BIND_FAILED', exit: 71, message: /cannot listen on 192\.0\.2\.1/ },
  },
  {
    id: 'port-in-use',
    input: 'explicit local port already in use',
    args: (c) => [`demo:${c.openPort}:${c.busyPort}`, ...W],
    expect: { code: 'ERR_TUNNEL_PORT_IN_USE', exit: 75, message: /in use/ },
  },
  {
    id: 'target-not-found',
    input: '`tunnel nosuchname:5432` (no instance has that Name tag)',
    args: () => ['nosuchname:5432', ...W],
    expect: { code: 'ERR_TUNNEL_TARGET_NOT_FOUND', exit: 69, message: /no managed node matches Name=nosuchname/ },
  },
  {
    id: 'aws-unknown-profile',
    input: '`tunnel targets --profile nope` (no such profile in ~/.aws/config or ~/.aws/credentials)',
    args: () => ['targets', '--profile', 'nope'],
    files: () => ({ '.aws/config': '[profile dev]\nregion = us-east-1\n' }),
    expect: {
      code: 'ERR_AWS_UNKNOWN_PROFILE',
      exit: 78,
      message:
        /AWS profile "nope" \(from --profile\) is not in the AWS config files read: .*\.aws\/config, .*\.aws\/credentials \(missing\); profiles there: dev/,
    },
  },
  {
    id: 'aws-ca-bundle-missing',
    input: '`AWS_CA_BUNDLE` names a file that does not exist',
    args: () => ['targets'],
    env: { AWS_CA_BUNDLE: '/nonexistent/corporate-ca.pem' },
    expect: {
      code: 'ERR_AWS_CA_BUNDLE',
      exit: 78,
      message: /cannot read the CA bundle \/nonexistent\/corporate-ca\.pem \(from \$AWS_CA_BUNDLE\)/,
    },
  },
  {
    id: 'proxy-not-a-url',
    input: '`--proxy proxy.example.com:3128` (no scheme)',
    args: () => ['targets', '--proxy', 'proxy.example.com:3128'],
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'proxy-unreachable',
    input: '`HTTPS_PROXY` points at a port nothing listens on',
    args: () => ['targets'],
    env: { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: undefined },
    expect: {
      code: 'ERR_AWS_PROXY',
      exit: 69,
      message: /cannot reach the proxy http:\/\/127\.0\.0\.1:9 \(from \$HTTPS_PROXY\)/,
    },
  },
  {
    id: 'target-tag-not-found',
    input: '`tunnel tag:Env=nope:5432` (no instance has that tag)',
    args: () => ['tag:Env=nope:5432', ...W],
    expect: { code: 'ERR_TUNNEL_TARGET_NOT_FOUND', exit: 69, message: /no managed node matches/ },
  },
  {
    id: 'target-ambiguous',
    input: 'Name tag `twin` on two online instances',
    args: () => ['twin:5432', ...W],
    expect: { code: 'ERR_TUNNEL_TARGET_AMBIGUOUS', exit: 69, message: /2 managed nodes match Name=twin/ },
  },
  {
    id: 'target-not-connected',
    input: 'instance whose agent is offline (TargetNotConnected)',
    args: () => ['i-0bbbbbbbbbbbbbbb3:5432', ...W],
    expect: { code: 'ERR_AWS_TARGET_NOT_CONNECTED', exit: 69, message: /is not connected/ },
  },
  {
    id: 'access-denied',
    input: 'IAM denies `ssm:StartSession` on the instance (AccessDenied)',
    args: () => ['i-0ddddddddddddddd4:5432', ...W],
    expect: { code: 'ERR_AWS_ACCESS_DENIED', exit: 77, message: /not authorized to perform: ssm:StartSession/ },
  },
  {
    id: 'credentials-wrong-secret',
    input: 'wrong `AWS_SECRET_ACCESS_KEY`',
    args: (c) => [`demo:${c.openPort}:auto`, ...W],
    env: { AWS_SECRET_ACCESS_KEY: 'wrongwrongwrongwrongwrongwrongwrong12345' },
    expect: { code: 'ERR_AWS_CREDENTIALS', exit: 77, message: /signature we calculated does not match/ },
  },
  {
    id: 'credentials-unknown-key',
    input: 'unknown `AWS_ACCESS_KEY_ID`',
    args: (c) => [`demo:${c.openPort}:auto`, ...W],
    env: { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNUNKNOWN00' },
    expect: { code: 'ERR_AWS_CREDENTIALS', exit: 77, message: /security token included in the request is invalid/ },
  },
  {
    id: 'credentials-missing',
    input: 'no credentials anywhere (no env, no profile, no instance role)',
    args: (c) => [`demo:${c.openPort}:auto`, ...W],
    env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    expect: { code: 'ERR_AWS_CREDENTIALS', exit: 77, message: /no usable AWS credentials/ },
  },
  {
    id: 'credentials-sso-expired',
    input: '`--profile` whose SSO session has expired',
    args: (c) => [`demo:${c.openPort}:auto`, '--profile', 'expired', ...W],
    env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    files: () => ({
      '.aws/config': [
        '[profile expired]',
        'sso_session = corp',
        'sso_account_id = 123456789012',
        'sso_role_name = Dev',
        'region = us-east-1',
        '[sso-session corp]',
        'sso_start_url = https://corp.example/start',
        'sso_region = us-east-1',
        '',
      ].join('\n'),
      // The SDK's cache file name is sha1(session name); expiresAt in the past.
      '.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json': JSON.stringify({
        accessToken: 'x',
        expiresAt: '2020-01-01T00:00:00Z',
        region: 'us-east-1',
        startUrl: 'https://corp.example/start',
      }),
    }),
    expect: { code: 'ERR_AWS_LOGIN_REQUIRED', exit: 77, message: /run `tunnel login --profile expired`/ },
  },
  {
    id: 'login-not-sso-profile',
    input: '`tunnel login --profile keys` for a profile without IAM Identity Center settings',
    args: () => ['login', '--profile', 'keys', '--no-browser'],
    files: () => ({ '.aws/config': '[profile keys]\nregion = us-east-1\n' }),
    expect: {
      code: 'ERR_AWS_NOT_SSO_PROFILE',
      exit: 78,
      message: /profile keys does not sign in through IAM Identity Center/,
    },
  },
  {
    id: 'forward-region-invalid',
    input: 'a forward with `region: mars-1`',
    args: () => ['up'],
    files: () =>
      config(['forwards:', '  db:', '    target: { name: demo }', '    remotePort: 5432', '    region: mars-1']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /invalid configuration/ },
  },
  {
    id: 'region-mismatch',
    input: '`--region eu-west-1` while the credentials/endpoint are for another region',
    args: (c) => [`demo:${c.openPort}:auto`, '--region', 'eu-west-1', ...W],
    expect: { code: 'ERR_AWS_CREDENTIALS', exit: 77, message: /Credential should be scoped to a valid region/ },
  },
  {
    id: 'endpoint-unreachable',
    input: '`--endpoint http://127.0.0.1:1` (nothing listens)',
    args: (c) => [`demo:${c.openPort}:auto`, '--endpoint', `http://127.0.0.1:${c.closedPort}`, ...W],
    expect: {
      code: 'ERR_AWS_ENDPOINT_UNREACHABLE',
      exit: 69,
      message: /SSM endpoint unreachable: connect ECONNREFUSED/,
    },
  },
  {
    id: 'endpoint-dns',
    input: '`--endpoint https://ssm.nonexistent.invalid` (DNS failure)',
    args: (c) => [`demo:${c.openPort}:auto`, '--endpoint', 'https://ssm.nonexistent.invalid', ...W],
    expect: {
      code: 'ERR_AWS_ENDPOINT_UNREACHABLE',
      exit: 69,
      message: /SSM endpoint unreachable: getaddrinfo (ENOTFOUND|EAI_AGAIN)/,
    },
  },
  {
    id: 'endpoint-insecure',
    input: '`--endpoint http://10.1.2.3` (plain http, not loopback)',
    args: (c) => [`demo:${c.openPort}:auto`, '--endpoint', 'http://10.1.2.3', ...W],
    expect: {
      code: 'ERR_AWS_INSECURE_ENDPOINT',
      exit: 78,
      message: /refusing plain http:\/\/ SSM endpoint 10\.1\.2\.3/,
    },
  },
  {
    id: 'remote-host-forbidden',
    input: 'remote host on the agent deny list (`demo:169.254.169.254:80`)',
    args: () => ['demo:169.254.169.254:80:auto', ...W],
    expect: {
      code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN',
      exit: 77,
      message: /Forwarding to IP address 169\.254\.169\.254 is forbidden/,
    },
  },
  {
    id: 'destination-refused',
    input: 'destination port closed (connection refused at the agent), `probe: true`',
    args: () => ['db', ...W],
    files: (c) =>
      config([
        'forwards:',
        '  db:',
        '    target: { name: demo }',
        `    remotePort: ${c.closedPort}`,
        '    localPort: auto',
        '    probe: true',
      ]),
    expect: { code: 'ERR_TUNNEL_PROBE_FAILED', exit: 69, message: /probe failed/ },
  },
  {
    id: 'destination-dns',
    input: 'remote host name the agent cannot resolve',
    // The agent resolves the host once per session and closes it with "lookup HOST: no such host";
    // a fresh session would fail the same way, so the forward fails (it used to flap for ever).
    killAfterMs: 15_000,
    args: () => ['db', ...W],
    files: () =>
      config([
        'forwards:',
        '  db:',
        '    target: { name: demo }',
        '    host: nosuchhost.invalid',
        '    remotePort: 5432',
        '    localPort: auto',
        '    probe: true',
      ]),
    expect: { code: 'ERR_TUNNEL_CONNECT_TO_PORT', exit: 69, message: /lookup nosuchhost\.invalid: no such host/ },
  },
  {
    id: 'run-not-found',
    input: '`tunnel run SPEC -- /nonexistent/cmd`',
    args: (c) => ['run', `demo:${c.openPort}:auto`, '--', '/nonexistent/cmd'],
    expect: { code: 'ERR_CLI_COMMAND_FAILED', exit: 127, message: /command not found/ },
  },
  {
    id: 'run-not-executable',
    input: '`tunnel run SPEC -- ./notes.txt` (not executable)',
    args: (c) => ['run', `demo:${c.openPort}:auto`, '--', join(c.dir, 'notes.txt')],
    files: () => ({ 'notes.txt': 'hello\n' }),
    expect: { code: 'ERR_CLI_COMMAND_FAILED', exit: 126, message: /cannot run/ },
  },
  ...HOSTILE_CASES,
  {
    id: 'status-not-running',
    input: '`tunnel status` with no background process',
    args: () => ['status'],
    expect: { code: 'ERR_DAEMON_NOT_RUNNING', exit: 69, message: /no background tunnel process is running/ },
  },
  {
    id: 'logs-follow-not-running',
    input: '`tunnel logs -f` with no background process',
    args: () => ['logs', '-f'],
    expect: { code: 'ERR_DAEMON_NOT_RUNNING', exit: 69, message: /start one with `tunnel up -d`/ },
  },
  {
    id: 'down-no-project',
    input: '`tunnel down` outside a project, no names, no `--all`',
    args: () => ['down'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /name the forwards to stop, or use `tunnel down --all`/ },
  },
  {
    id: 'up-detach-no-forwards',
    input: '`tunnel up -d` with a config that has no forwards',
    args: () => ['up', '-d'],
    files: () => config(['targets:', '  demo: { name: demo }']),
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /the configuration has no forwards/ },
  },
  // Issue #19: databases and ECS tasks by name (the emulator has rds orders, a cluster and an
  // instance both named shop, and ECS cluster web whose service worker has two containers).
  {
    id: 'rds-unknown',
    input: '`tunnel demo:rds:ordrs` (no such database)',
    args: () => ['demo:rds:ordrs', ...W],
    expect: {
      code: 'ERR_TUNNEL_TARGET_NOT_FOUND',
      exit: 69,
      message: /no DB instance or Aurora cluster named "ordrs".*known: .*orders/,
    },
  },
  {
    id: 'rds-no-bastion',
    input: '`tunnel rds:orders` with no target and no `bastion:`',
    args: () => ['rds:orders', ...W],
    expect: { code: 'ERR_CONFIG_NO_BASTION', exit: 78, message: /TARGET:rds:orders.*bastion: TARGET/ },
  },
  {
    id: 'rds-ambiguous',
    input: '`tunnel demo:rds:shop` (an Aurora cluster and a DB instance share the id)',
    args: () => ['demo:rds:shop', ...W],
    expect: {
      code: 'ERR_TUNNEL_TARGET_AMBIGUOUS',
      exit: 69,
      message: /matches 2 databases: Aurora cluster shop .*DB instance shop/,
    },
  },
  {
    id: 'ecs-several-containers',
    input: '`tunnel ecs:web/worker:80` (the task has two containers)',
    args: () => ['ecs:web/worker:80', ...W],
    expect: { code: 'ERR_TUNNEL_TARGET_AMBIGUOUS', exit: 69, message: /has 2 containers: main, sidecar/ },
  },
  {
    id: 'instance-id-malformed',
    input: '`tunnel i-123:80` (too short for an instance id)',
    args: () => ['i-123:80', ...W],
    expect: {
      code: 'ERR_CLI_USAGE',
      exit: 2,
      message: /"i-123" is not an instance id: ids are i- followed by 8 or 17 hex digits/,
    },
  },
];

/** Write a case's files under `dir`. */
export function writeCaseFiles(dir: string, files: Record<string, string>, mkdir: (p: string) => void): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdir(path.slice(0, path.lastIndexOf('/')));
    writeFileSync(path, text);
  }
}
