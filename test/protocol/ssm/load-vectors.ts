/**
 * Loads the golden vectors. `vectors/ssm-messages.json` is a verbatim copy of
 * `../shared/vectors/ssm-messages.json` so the suite runs from a clean clone; a test checks the
 * copy still matches the shared file whenever that file is present.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Vector {
  name: string;
  description: string;
  direction: string;
  websocket_frame: 'binary' | 'text' | 'n/a';
  input?: Record<string, unknown>;
  hex: string;
  length: number;
  transcript_step?: number;
  expect?: { client_parser: string; agent_parser: string };
}

export interface VectorFile {
  session: Record<string, string>;
  vectors: Vector[];
}

export const VECTOR_PATH = join(dirname(fileURLToPath(import.meta.url)), 'vectors', 'ssm-messages.json');
export const SHARED_VECTOR_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'shared',
  'vectors',
  'ssm-messages.json',
);

export function loadVectors(): VectorFile {
  return JSON.parse(readFileSync(VECTOR_PATH, 'utf8')) as VectorFile;
}

export function vectorByName(file: VectorFile, name: string): Vector {
  const v = file.vectors.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no vector ${name}`);
  return v;
}

/** Typed accessors for `input` fields. */
export function inStr(v: Vector, key: string): string {
  const x = v.input?.[key];
  if (typeof x !== 'string') throw new Error(`${v.name}.input.${key} is not a string`);
  return x;
}
export function inNum(v: Vector, key: string): number {
  const x = v.input?.[key];
  if (typeof x !== 'number') throw new Error(`${v.name}.input.${key} is not a number`);
  return x;
}
export function inOptStr(v: Vector, key: string): string | undefined {
  const x = v.input?.[key];
  return typeof x === 'string' ? x : undefined;
}
