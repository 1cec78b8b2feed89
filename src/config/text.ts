/**
 * Echoing what the user (or the wrong file) wrote, safely: names are shortened so a 5,000-character
 * word is not repeated in full, control characters are escaped so a name cannot drive the
 * terminal, and excerpts of file content are masked after the first `=` or `:` so that pointing
 * `--config` at `~/.aws/credentials` or a `.env` never prints `aws_secret_access_key = …` or
 * `DB_PASSWORD=…`.
 */

/** Longest user-supplied word echoed in a message, in characters. */
export const MAX_ECHO = 64;
/** Longest excerpt of file content shown in a message, in characters. */
export const MAX_EXCERPT = 40;

function printable(s: string): string {
  // C0/C1 controls, DEL: shown as \uXXXX instead of reaching the terminal.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `s`, escaped and cut to `max` characters with a note of its length when longer. */
export function shortText(s: string, max: number = MAX_ECHO): string {
  const p = printable(s);
  return p.length <= max ? p : `${p.slice(0, max)}… (${s.length} characters)`;
}

/**
 * A short, masked excerpt of one line of file content: the first line only; everything after the
 * first `=` or `:` (and the blanks around it) becomes `***`; at most MAX_EXCERPT characters.
 * `aws_secret_access_key = wJalr…` → `aws_secret_access_key = ***`.
 */
export function maskedExcerpt(text: string): string {
  const nl = text.search(/\r?\n/);
  const line = nl < 0 ? text : text.slice(0, nl);
  // `KEY=value`, `key = value`, `key: value` (not `::1`, whose part before ':' is empty).
  const sep = /^(\s*[A-Za-z_][\w.\- ]*?\s*[=:]\s*)\S/.exec(line);
  // A long word with no key (a token on a line of its own): its first 4 characters only.
  let shown = sep !== null ? `${sep[1] ?? ''}***` : line.length > 24 ? `${line.slice(0, 4)}***` : line;
  if (shown.length > MAX_EXCERPT) shown = `${shown.slice(0, MAX_EXCERPT)}…`;
  const more = nl >= 0 || shown.length < line.length ? ` (${text.length} characters)` : '';
  return `"${printable(shown)}"${more}`;
}
