/**
 * An independent check of an RDS IAM auth token (issue #19): the token is a SigV4 query-presigned
 * `GET /?Action=connect&DBUser=…` for `host:port`, service `rds-db`. The signature is recomputed
 * here from the SigV4 rules with node:crypto only (no AWS library), so a token from the signer
 * package is checked by code that shares nothing with it.
 */
import { createHash, createHmac } from 'node:crypto';

export interface ExpectedToken {
  host: string;
  port: number;
  user: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string): Buffer => createHmac('sha256', key).update(s, 'utf8').digest();

/** Problems found (empty = a valid token for exactly these parameters). */
export function checkRdsToken(token: string, want: ExpectedToken): string[] {
  const problems: string[] = [];
  if (/^[a-z]+:\/\//.test(token)) problems.push('the token must not carry a scheme');
  let url: URL;
  try {
    url = new URL(`https://${token}`);
  } catch {
    return ['the token is not host:port/?query'];
  }
  const q = url.searchParams;
  const expectEq = (what: string, got: string | null, expected: string): void => {
    if (got !== expected) problems.push(`${what}: ${String(got)} (want ${expected})`);
  };
  expectEq('host', url.hostname, want.host);
  expectEq('port', url.port, String(want.port));
  expectEq('path', url.pathname, '/');
  expectEq('Action', q.get('Action'), 'connect');
  expectEq('DBUser', q.get('DBUser'), want.user);
  expectEq('X-Amz-Algorithm', q.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
  expectEq('X-Amz-SignedHeaders', q.get('X-Amz-SignedHeaders'), 'host');
  const amzDate = q.get('X-Amz-Date') ?? '';
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${want.region}/rds-db/aws4_request`;
  expectEq('X-Amz-Credential', q.get('X-Amz-Credential'), `${want.accessKeyId}/${scope}`);
  const expires = Number(q.get('X-Amz-Expires'));
  if (!(expires > 0 && expires <= 900)) problems.push(`X-Amz-Expires ${String(q.get('X-Amz-Expires'))} (want 1..900)`);
  const canonicalQuery = [...q.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${want.host}:${want.port}`, '', 'host', sha256('')].join(
    '\n',
  );
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${want.secretAccessKey}`, day);
  for (const part of [want.region, 'rds-db', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  expectEq('X-Amz-Signature', q.get('X-Amz-Signature'), signature);
  return problems;
}
