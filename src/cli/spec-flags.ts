/**
 * `--sessions`, `--lazy`, `--reason` for forwards given on the command line: the same settings
 * as the config keys, read through the config schema so a flag accepts exactly what the key
 * does (a value the key refuses is refused with the key's own message).
 */
import type { Argv } from 'yargs';
import { parse as parseYamlScalar } from 'yaml';
import { UsageError } from '../errors.js';
import { validateLayer } from '../config/schema.js';
import { plainSource } from '../config/source.js';
import type { ForwardSpec } from '../tunnel/forward-spec.js';

export interface SpecFlagArgs {
  sessions?: string | undefined;
  lazy?: boolean | undefined;
  reason?: string | undefined;
}

export type SpecOverrides = Partial<Pick<ForwardSpec, 'sessions' | 'lazy' | 'reason'>>;

const FLAG_OF: Record<string, string> = { sessions: '--sessions', lazy: '--lazy', reason: '--reason' };

/** The overrides the flags ask for (empty when none is given); a bad value is a usage error. */
export function specOverrides(args: SpecFlagArgs): SpecOverrides {
  const entry: Record<string, unknown> = { target: 'i-00000000000000000', remotePort: 1 };
  if (args.sessions !== undefined) {
    // `--sessions 3` is the number 3, as `sessions: 3` in YAML is (and any word the key accepts).
    let value: unknown = args.sessions;
    try {
      value = parseYamlScalar(args.sessions) as unknown;
    } catch {
      // Not a YAML scalar: the schema refuses the text as given.
    }
    entry['sessions'] = value;
  }
  if (args.lazy !== undefined) entry['lazy'] = args.lazy;
  if (args.reason !== undefined) entry['reason'] = args.reason;
  if (Object.keys(entry).length === 2) return {};
  const { layer, issues } = validateLayer(plainSource({ forwards: { flags: entry } }));
  const first = issues[0];
  if (first !== undefined) {
    const key = String(first.path.split('.').pop() ?? '');
    const flag = FLAG_OF[key] ?? key;
    // A flag's value is always typed as text: "number 0 is not …" reads as "0 is not …".
    const message = first.message.replace(/^(string|number|boolean) /, '');
    throw new UsageError(`${flag}: ${message}${first.hint === undefined ? '' : ` (${first.hint})`}`);
  }
  const f = layer.forwards['flags'];
  const out: SpecOverrides = {};
  if (f?.sessions !== undefined) out.sessions = f.sessions;
  if (f?.lazy !== undefined) out.lazy = f.lazy;
  if (f?.reason !== undefined) out.reason = f.reason;
  return out;
}

/** `specs` with the overrides applied to each. */
export function withOverrides(specs: readonly ForwardSpec[], o: SpecOverrides): ForwardSpec[] {
  return specs.map((s) => ({ ...s, ...o }));
}

/** The three options, for the builders of the commands that take SPECs. */
export function withSpecFlags<T>(y: Argv<T>) {
  return y
    .option('sessions', {
      type: 'string',
      describe: 'sessions per forward (config key `sessions`), for every forward given here',
    })
    .option('lazy', {
      type: 'boolean',
      describe: 'open sessions only when a client connects (config key `lazy`)',
    })
    .option('reason', { type: 'string', describe: 'StartSession reason, shown in CloudTrail (config key `reason`)' });
}
