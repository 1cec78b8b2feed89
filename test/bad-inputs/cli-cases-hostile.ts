/**
 * CLI rows of docs/bad-inputs.md from issue 16 ("hostile and odd input, round 2"): names of
 * built-in object properties, group and alias bombs, config files that are huge, endless, not
 * regular or the wrong file (secrets must not be echoed), durations past Node's timer limit,
 * odd SPECs and flags, and the emulator's own flags. Run by cli.test.ts like the others.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { CliCase } from './cli-cases.js';

const FWD = ['forwards:', '  db:', '    target: { name: demo }', '    remotePort: 5432'];
const yaml = (lines: string[]): Record<string, string> => ({ '.tunnel.yaml': lines.join('\n') + '\n' });

/** 61 groups, each naming the next twice: 2^61 paths through 61 groups. */
function groupBomb(): string[] {
  const lines = [...FWD, 'groups:'];
  for (let i = 0; i < 61; i++) lines.push(`  g${i}: [g${i + 1}, g${i + 1}]`);
  lines.push('  g61: [db, nosuch]');
  return lines;
}

/** "Billion laughs": nine levels of nine aliases each. */
function aliasBomb(): string[] {
  const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return lines;
}

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DB_PASSWORD = 'hunter2-correct-horse';

export const HOSTILE_CASES: CliCase[] = [
  {
    id: 'name-constructor',
    input: '`tunnel constructor` (a name of an Object.prototype member), no config',
    args: () => ['constructor'],
    expect: { code: 'ERR_CONFIG_UNKNOWN_FORWARD', exit: 78, message: /no forward or group named "constructor"/ },
  },
  {
    id: 'name-proto',
    input: '`tunnel __proto__`',
    args: () => ['__proto__'],
    expect: { code: 'ERR_CONFIG_UNKNOWN_FORWARD', exit: 78, message: /no forward or group named "__proto__"/ },
  },
  {
    id: 'name-tostring-up',
    input: '`tunnel up toString` with a config',
    args: () => ['up', 'toString'],
    files: () => yaml(FWD),
    expect: { code: 'ERR_CONFIG_UNKNOWN_FORWARD', exit: 78, message: /no forward or group named "toString"/ },
  },
  {
    id: 'group-member-constructor',
    input: 'a group member `[constructor]`',
    args: () => ['ls'],
    files: () => yaml([...FWD, 'groups:', '  g: [constructor]']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /unknown forward or group "constructor"/ },
  },
  {
    id: 'group-bomb',
    input: '61 groups each `[next, next]` (1 KB of YAML), the last naming an unknown member',
    args: () => ['ls'],
    files: () => yaml(groupBomb()),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /unknown forward or group "nosuch"/ },
    killAfterMs: 20_000,
  },
  {
    id: 'yaml-alias-bomb',
    input: '"billion laughs": nested YAML aliases expanding to 9^9 nodes',
    args: () => ['ls'],
    files: () => yaml(aliasBomb()),
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /too many alias expansions/ },
    killAfterMs: 20_000,
  },
  {
    id: 'config-too-large',
    input: 'a 2 MiB `.tunnel.yaml` (over the 1 MiB limit)',
    args: () => ['ls'],
    files: () => ({ '.tunnel.yaml': `forwards: {}\n# ${'x'.repeat(2 * 1024 * 1024)}\n` }),
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /limited to 1 MiB/ },
  },
  {
    id: 'config-fifo',
    input: '`--config` names a FIFO (nothing ever writes to it)',
    args: () => ['--config', 'pipe', 'ls'],
    files: (c) => {
      rmSync(`${c.dir}/pipe`, { force: true });
      execFileSync('mkfifo', [`${c.dir}/pipe`]);
      return {};
    },
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /is a FIFO \(named pipe\), not a regular file/ },
    killAfterMs: 15_000,
  },
  {
    id: 'config-device',
    input: '`TUNNEL_CONFIG=/dev/urandom`',
    args: () => ['ls'],
    env: { TUNNEL_CONFIG: '/dev/urandom' },
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /is a character device, not a regular file/ },
    killAfterMs: 15_000,
  },
  {
    id: 'config-aws-credentials',
    input: '`--config ~/.aws/credentials` (the wrong file, with a secret key in it)',
    args: () => ['--config', 'credentials', 'ls'],
    files: () => ({
      credentials: `[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = ${SECRET}\n`,
    }),
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /line 2 starts "aws_access_key_id = \*\*\*"/ },
    absent: [SECRET, 'AKIAIOSFODNN7EXAMPLE'],
  },
  {
    id: 'config-dotenv',
    input: '`--config .env` (`DB_PASSWORD=…` lines)',
    args: () => ['--config', '.env', 'ls'],
    files: () => ({ '.env': `DB_PASSWORD=${DB_PASSWORD}\nDB_HOST=db.internal\n` }),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /got string "DB_PASSWORD=\*\*\*"/ },
    absent: [DB_PASSWORD, 'db.internal'],
  },
  {
    id: 'config-binary',
    input: '`--config` names a binary file (22 KB of bytes)',
    args: () => ['--config', 'blob', 'ls'],
    files: () => ({ blob: String.fromCharCode(...Array.from({ length: 22_000 }, (_, i) => (i * 7919) % 256)) }),
    expect: { code: 'ERR_CONFIG_PARSE', exit: 78, message: /binary file/ },
    maxOutputChars: 1000,
  },
  {
    id: 'timeout-overflow',
    input: '`--timeout 3000000s` (past the 24.8-day timer limit)',
    args: () => ['--timeout', '3000000s', 'demo:5432'],
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /"3000000s" is too long: the longest is 596h/ },
  },
  {
    id: 'idle-timeout-overflow',
    input: '`idleTimeout: 1000h` in a forward',
    args: () => ['up'],
    files: () => yaml([...FWD, '    lazy: true', '    idleTimeout: 1000h']),
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /"1000h" is too long/ },
  },
  {
    id: 'spec-local-port-zero',
    input: '`tunnel demo:5432:0` (local port 0)',
    args: () => ['demo:5432:0'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /local port "0" in "demo:5432:0" is not a port .*write auto/ },
  },
  {
    id: 'spec-leading-dash',
    input: '`tunnel -demo:5432` (a SPEC starting with "-")',
    args: () => ['-demo:5432'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /"-demo:5432" starts with "-" and is read as options/ },
  },
  {
    id: 'spec-unclosed-bracket',
    input: '`tunnel demo:[::1:8081` (IPv6 host without "]")',
    args: () => ['demo:[::1:8081'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /has an unclosed "\["/ },
  },
  {
    id: 'bind-duplicate',
    input: '`TUNNEL_BIND=127.0.0.1,127.0.0.1`',
    args: () => ['demo:5432'],
    env: { TUNNEL_BIND: '127.0.0.1,127.0.0.1' },
    expect: { code: 'ERR_CONFIG_INVALID', exit: 78, message: /address 127\.0\.0\.1 is listed twice/ },
  },
  {
    id: 'name-very-long',
    input: 'a 5,000-character name',
    args: () => ['n'.repeat(5000)],
    expect: { code: 'ERR_CONFIG_UNKNOWN_FORWARD', exit: 78, message: /n… \(5000 characters\)/ },
    maxOutputChars: 1000,
  },
  {
    id: 'emulator-port-in-use',
    input: '`tunnel emulator --port P` with P already in use',
    args: (c) => ['emulator', '--port', String(c.busyPort)],
    expect: { code: 'ERR_EMULATOR_PORT_IN_USE', exit: 75, message: /port \d+ on 127\.0\.0\.1 is already in use/ },
  },
  {
    id: 'emulator-port-text',
    input: '`tunnel emulator --port abc`',
    args: () => ['emulator', '--port', 'abc'],
    expect: { code: 'ERR_CLI_USAGE', exit: 2, message: /--port "abc" is not a port/ },
    absent: ['NaN'],
  },
  {
    id: 'emulator-alias-bomb',
    input: '`tunnel emulator --config` with a "billion laughs" file',
    args: () => ['emulator', '--config', 'emu.yaml'],
    files: () => ({ 'emu.yaml': aliasBomb().join('\n') + '\n' }),
    expect: { code: 'ERR_EMULATOR_CONFIG', exit: 78, message: /too many alias expansions/ },
    killAfterMs: 20_000,
  },
];
