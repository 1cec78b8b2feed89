/**
 * docs/tunnel.schema.json: the examples, the `tunnel init` starter and the demo config validate
 * against it (with a small validator for the JSON Schema subset the file uses), the schema
 * agrees with the validator's key lists, and both reject the same broken documents.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_KEYS, FORWARD_KEYS, TOP_KEYS } from '../../src/config/schema.js';
import { parseConfigText } from '../../src/config/source.js';
import { STARTER_CONFIG } from '../../src/config/starter.js';
import { validateConfig } from '../../src/config/validate.js';
import { DEMO_CONFIG } from '../../src/cli/commands/demo-config.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const root = new URL('../../', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('docs/tunnel.schema.json', root), 'utf8')) as Schema;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SUPPORTED = new Set([
  'anyOf',
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'additionalProperties',
  'required',
  'propertyNames',
  'items',
  'minItems',
  'minLength',
  'minProperties',
  'minimum',
  'maximum',
  'pattern',
  'const',
  'oneOf',
  '$ref',
  '$defs',
]);

function resolveRef(ref: string): Schema {
  const m = /^#\/\$defs\/(.+)$/.exec(ref);
  const defs = schema['$defs'];
  const target = m?.[1] !== undefined && isObj(defs) ? defs[m[1]] : undefined;
  if (!isObj(target)) throw new Error(`unresolvable $ref ${ref}`);
  return target as Schema;
}

function typeOk(v: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isObj(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new Error(`unsupported type ${type}`);
  }
}

/** Errors of `v` against `s` (JSON Schema 2020-12 subset; throws on keywords it does not know). */
function validate(v: unknown, s: Schema, path = '$'): string[] {
  for (const k of Object.keys(s)) if (!SUPPORTED.has(k)) throw new Error(`validator does not support keyword ${k}`);
  const errors: string[] = [];
  if (typeof s['$ref'] === 'string') errors.push(...validate(v, resolveRef(s['$ref']), path));
  const type = s['type'];
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (!types.some((x) => typeof x === 'string' && typeOk(v, x)))
      return [...errors, `${path}: expected ${types.join('|')}`];
  }
  if (s['const'] !== undefined && v !== s['const']) errors.push(`${path}: expected ${JSON.stringify(s['const'])}`);
  if (typeof v === 'string') {
    if (typeof s['minLength'] === 'number' && v.length < s['minLength']) errors.push(`${path}: too short`);
    if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(v))
      errors.push(`${path}: does not match ${s['pattern']}`);
  }
  if (typeof v === 'number') {
    if (typeof s['minimum'] === 'number' && v < s['minimum']) errors.push(`${path}: below ${s['minimum']}`);
    if (typeof s['maximum'] === 'number' && v > s['maximum']) errors.push(`${path}: above ${s['maximum']}`);
  }
  if (Array.isArray(v)) {
    if (typeof s['minItems'] === 'number' && v.length < s['minItems']) errors.push(`${path}: too few items`);
    if (isObj(s['items'])) v.forEach((x, i) => errors.push(...validate(x, s['items'] as Schema, `${path}[${i}]`)));
  }
  if (isObj(v)) {
    const props = isObj(s['properties']) ? (s['properties'] as Record<string, Schema>) : {};
    if (typeof s['minProperties'] === 'number' && Object.keys(v).length < s['minProperties'])
      errors.push(`${path}: too few properties`);
    if (Array.isArray(s['required']))
      for (const r of s['required']) if (typeof r === 'string' && !(r in v)) errors.push(`${path}: missing ${r}`);
    for (const [k, x] of Object.entries(v)) {
      if (isObj(s['propertyNames'])) errors.push(...validate(k, s['propertyNames'] as Schema, `${path}.${k}(name)`));
      const p = props[k];
      if (p !== undefined) errors.push(...validate(x, p, `${path}.${k}`));
      else if (s['additionalProperties'] === false) errors.push(`${path}: unknown key ${k}`);
      else if (isObj(s['additionalProperties']))
        errors.push(...validate(x, s['additionalProperties'] as Schema, `${path}.${k}`));
    }
  }
  if (Array.isArray(s['anyOf'])) {
    const passing = s['anyOf'].filter((alt) => isObj(alt) && validate(v, alt as Schema, path).length === 0).length;
    if (passing === 0) errors.push(`${path}: matches none of the anyOf alternatives`);
  }
  if (Array.isArray(s['oneOf'])) {
    const passing = s['oneOf'].filter((alt) => isObj(alt) && validate(v, alt as Schema, path).length === 0).length;
    if (passing !== 1) errors.push(`${path}: matches ${passing} of the oneOf alternatives`);
  }
  return errors;
}

const examples = readdirSync(new URL('examples/', root)).filter((f) => /\.(ya?ml|json)$/.test(f));

t.test('there are examples, and each one is valid for tunnel and for the JSON Schema', async (t) => {
  t.ok(examples.length >= 4, `examples: ${examples.join(', ')}`);
  for (const f of examples) {
    const text = readFileSync(new URL(`examples/${f}`, root), 'utf8');
    const source = parseConfigText(text, f);
    t.doesNotThrow(() => validateConfig(source.value, source), `${f} passes validateConfig`);
    t.same(validate(parse(text), schema), [], `${f} passes the JSON Schema`);
  }
});

t.test('the init starter and the demo config pass the schema; examples/demo.yaml is the demo config', async (t) => {
  t.same(validate(parse(STARTER_CONFIG), schema), []);
  t.same(validate(parse(DEMO_CONFIG), schema), []);
  t.equal(readFileSync(new URL('examples/demo.yaml', root), 'utf8'), DEMO_CONFIG);
});

t.test('the schema names exactly the keys the validator accepts', async (t) => {
  const props = (s: unknown): string[] =>
    isObj(s) && isObj(s['properties']) ? Object.keys(s['properties']).sort() : [];
  t.same(props(schema), [...TOP_KEYS].sort());
  t.same(props(resolveRef('#/$defs/defaults')), [...DEFAULT_KEYS].sort());
  t.same(props(resolveRef('#/$defs/forward')), [...FORWARD_KEYS].sort());
});

t.test('broken documents fail both the schema and validateConfig', async (t) => {
  const broken: Array<[string, unknown]> = [
    ['unknown top key', { forwardz: {} }],
    ['missing remotePort', { forwards: { db: { target: 'i-0123456789abcdef0' } } }],
    ['port out of range', { forwards: { db: { target: 'i-0123456789abcdef0', remotePort: 70000 } } }],
    ['local port 0', { forwards: { db: { target: 'i-0123456789abcdef0', remotePort: 22, localPort: 0 } } }],
    ['bad name', { forwards: { '1db': { target: 'i-0123456789abcdef0', remotePort: 1 } } }],
    ['two target kinds', { targets: { x: { id: 'i-0123456789abcdef0', name: 'x' } } }],
    ['bad duration', { defaults: { timeout: 'soon' } }],
    ['bad version', { version: 2 }],
    ['unknown forward key', { forwards: { db: { target: 'i-0123456789abcdef0', remotePort: 1, lazzy: true } } }],
  ];
  for (const [what, doc] of broken) {
    t.not(validate(doc, schema).length, 0, `schema rejects: ${what}`);
    t.throws(() => validateConfig(doc), { code: 'ERR_CONFIG_INVALID' }, `validateConfig rejects: ${what}`);
  }
});
