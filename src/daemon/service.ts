/**
 * `tunnel service install`: a per-user service definition that runs `tunnel daemon --keep` at
 * login: a systemd user unit (`~/.config/systemd/user/tunnel.service`) or a launchd agent
 * (`~/Library/LaunchAgents/dev.ssm-tunnel.daemon.plist`). Writing the file is all it does;
 * enabling it (`systemctl --user enable --now tunnel`, `launchctl load …`) is the user's step.
 * No credentials go into the file: the process gets them from each `tunnel up -d`.
 */
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type ServiceKind = 'systemd' | 'launchd';

export interface ServiceFile {
  kind: ServiceKind;
  path: string;
  text: string;
  /** What the user runs next. */
  enable: string;
  disable: string;
}

export function defaultServiceKind(): ServiceKind {
  return process.platform === 'darwin' ? 'launchd' : 'systemd';
}

/** systemd quotes: a word with spaces or quotes goes in double quotes with \" and \\ escaped. */
function systemdWord(s: string): string {
  return /^[A-Za-z0-9_./:@+=-]+$/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function serviceFile(
  kind: ServiceKind,
  o: { scriptPath: string; homedir: string; env: Readonly<Record<string, string | undefined>>; execPath?: string },
): ServiceFile {
  const argv = [o.execPath ?? process.execPath, o.scriptPath, 'daemon', '--keep'];
  if (kind === 'systemd') {
    const configHome = o.env['XDG_CONFIG_HOME'] || join(o.homedir, '.config');
    const path = join(configHome, 'systemd', 'user', 'tunnel.service');
    const text = [
      '# Written by `tunnel service install`: the tunnel background process (docs/cli.md).',
      '[Unit]',
      'Description=tunnel: Session Manager port forwards in the background',
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${argv.map(systemdWord).join(' ')}`,
      // SIGTERM stops every forward with TerminateSession (about 2 s); give it a little more.
      'KillSignal=SIGTERM',
      'TimeoutStopSec=10',
      'Restart=on-failure',
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n');
    return {
      kind,
      path,
      text,
      enable: 'systemctl --user daemon-reload && systemctl --user enable --now tunnel.service',
      disable: 'systemctl --user disable --now tunnel.service',
    };
  }
  const label = 'dev.ssm-tunnel.daemon';
  const path = join(o.homedir, 'Library', 'LaunchAgents', `${label}.plist`);
  const text = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `tunnel service install`: the tunnel background process (docs/cli.md). -->',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${label}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...argv.map((a) => `    <string>${xml(a)}</string>`),
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
  return {
    kind,
    path,
    text,
    enable: `launchctl load -w ${path}`,
    disable: `launchctl unload -w ${path}`,
  };
}

export function writeServiceFile(f: ServiceFile): void {
  mkdirSync(dirname(f.path), { recursive: true });
  const tmp = `${f.path}.tmp`;
  writeFileSync(tmp, f.text, { mode: 0o644 });
  renameSync(tmp, f.path);
}

/** Remove the file; false when it was not there. */
export function removeServiceFile(f: ServiceFile): boolean {
  try {
    unlinkSync(f.path);
    return true;
  } catch {
    return false;
  }
}
