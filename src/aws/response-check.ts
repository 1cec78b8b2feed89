/**
 * Shape checks on what the SSM API returned. The SDK passes JSON values through without checking
 * their types, so a broken endpoint's `StreamUrl: {}` or `InstanceInformationList: null` would
 * otherwise surface deep inside as "object is not iterable" or a misleading "insecure URL". Each
 * check throws `ERR_AWS_BAD_RESPONSE` naming the operation and the field; values are not echoed
 * (a token could be among them).
 */
import { AwsError } from '../errors.js';

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function bad(op: string, field: string, v: unknown, expected: string): AwsError {
  return new AwsError(
    'ERR_AWS_BAD_RESPONSE',
    `${op}: the response's ${field} is ${kind(v)}, expected ${expected}; is the endpoint really SSM?`,
    { details: { operation: op, field } },
  );
}

function text(op: string, field: string, v: unknown, allowEmpty = false): string {
  if (typeof v !== 'string') throw bad(op, field, v, 'text');
  if (v === '' && !allowEmpty) throw bad(op, field, v, 'non-empty text');
  return v;
}

/** SessionId, StreamUrl, TokenValue of StartSession/ResumeSession (ResumeSession may omit the URL). */
export function checkGrant(
  op: string,
  out: { SessionId?: unknown; StreamUrl?: unknown; TokenValue?: unknown },
): { sessionId: string; streamUrl: string; tokenValue: string } {
  return {
    sessionId: text(op, 'SessionId', out.SessionId),
    streamUrl: text(op, 'StreamUrl', out.StreamUrl, op === 'ResumeSession'),
    tokenValue: text(op, 'TokenValue', out.TokenValue),
  };
}

const INSTANCE_TEXT_FIELDS = [
  'InstanceId',
  'PingStatus',
  'AgentVersion',
  'PlatformName',
  'ComputerName',
  'Name',
  'IPAddress',
  'ResourceType',
] as const;
type InstanceTextField = (typeof INSTANCE_TEXT_FIELDS)[number];

/** DescribeInstanceInformation's InstanceInformationList: a list of mappings whose text fields are text. */
export function checkInstanceList(op: string, list: unknown): Array<Partial<Record<InstanceTextField, string>>> {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw bad(op, 'InstanceInformationList', list, 'a list');
  return list.map((item: unknown, i) => {
    const at = `InstanceInformationList[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad(op, at, item, 'a mapping');
    const out: Partial<Record<InstanceTextField, string>> = {};
    for (const f of INSTANCE_TEXT_FIELDS) {
      const v: unknown = (item as Record<string, unknown>)[f];
      if (v === undefined || v === null) continue;
      out[f] = text(op, `${at}.${f}`, v, true);
    }
    return out;
  });
}

/** A NextToken: absent or text. */
export function checkNextToken(op: string, v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : text(op, 'NextToken', v, true);
}

/** ListTagsForResource's TagList: a list of { Key, Value } text pairs. */
export function checkTagList(op: string, list: unknown): Array<[string, string]> {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw bad(op, 'TagList', list, 'a list');
  return list.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw bad(op, `TagList[${i}]`, item, 'a mapping');
    const r = item as Record<string, unknown>;
    return [text(op, `TagList[${i}].Key`, r['Key']), text(op, `TagList[${i}].Value`, r['Value'] ?? '', true)];
  });
}
