/**
 * Last line of defence against printing secrets. The engine already keeps tokens and
 * credentials out of its events; the CLI additionally (1) drops values of secret-looking keys
 * from anything it serialises and (2) masks the values of the secret environment variables it
 * was started with in every line it writes.
 */
import type { OutputStream } from '../io.js';

export const REDACTED = '[redacted]';

const SECRET_KEY_RE = /(token|secret|password|passwd|credential|authorization|signature|privatekey)/i;
/** Environment variables whose values must never be echoed. */
const SECRET_ENV_RE = /(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY)/;

/** The secret values in `env` (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, …), 8+ characters. */
export function secretsFromEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && v.length >= 8 && SECRET_ENV_RE.test(k)) out.push(v);
  }
  // Longest first, so a secret that contains another is masked whole.
  return out.sort((a, b) => b.length - a.length);
}

export function maskSecrets(text: string, secrets: readonly string[]): string {
  let s = text;
  for (const secret of secrets) if (s.includes(secret)) s = s.split(secret).join(REDACTED);
  return s;
}

/** Deep copy with values of secret-looking keys replaced. */
export function redactKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactKeys);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY_RE.test(k) && v !== undefined && v !== null ? REDACTED : redactKeys(v);
    return out;
  }
  return value;
}

/** A stream that masks `secrets` in everything written through it. */
export function maskingStream(stream: OutputStream, secrets: readonly string[]): OutputStream {
  if (secrets.length === 0) return stream;
  return {
    write: (chunk: string) => stream.write(maskSecrets(chunk, secrets)),
    get columns() {
      return stream.columns;
    },
  };
}
