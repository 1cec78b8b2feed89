/**
 * SigV4 verification for the emulator's JSON API, with the error codes and texts AWS returns.
 *
 * The signature is recomputed with `@smithy/signature-v4` (the signer the SDK itself uses) from the
 * request's own `SignedHeaders`, `X-Amz-Date` and body, under the emulator's one secret key, and
 * compared in constant time. Failures are returned as data (`{ code, message }`), never thrown, so
 * the HTTP layer can answer `{"__type","message"}` with status 400.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { NodeSha256 } from '../protocol/sigv4-sha256.js';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SigV4Failure {
  /** The AWS error code (`__type`). */
  code:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'UnrecognizedClientException'
    | 'InvalidSignatureException'
    | 'ExpiredTokenException';
  message: string;
}

export interface SignedRequest {
  method: string;
  /** The raw request target, e.g. `/` or `/?a=b`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SigV4Policy {
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** Signing name the credential scope must carry: `ssm` or `kms`. */
  service: string;
  /** Server time, epoch milliseconds. */
  nowMs: number;
  /** Further regions a credential scope may name (instances in other regions, issue #15). */
  regions?: readonly string[];
  /**
   * Temporary credentials the emulator issued (issue #15), by access key id: their secret, the
   * session token the request must carry, and whether they have expired.
   */
  lookup?: (accessKeyId: string) => { secretAccessKey: string; sessionToken: string; expired: boolean } | undefined;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts request times within 15 minutes of its own clock. */
const MAX_SKEW_MS = 15 * 60_000;

export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
export const UNRECOGNIZED_CLIENT_MESSAGE = 'The security token included in the request is invalid.';
export const MISSING_AUTH_MESSAGE = 'Missing Authentication Token';
export const EXPIRED_TOKEN_MESSAGE = 'The security token included in the request is expired';

export { NodeSha256 };

/** `20240102T030405Z` → Date, or undefined when malformed. */
export function parseAmzDate(v: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** Date → `20240102T030405Z`. */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** Parse `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
function parseAuthorization(value: string): ParsedAuthorization | SigV4Failure {
  if (!value.startsWith(`${ALGORITHM} `)) {
    return {
      code: 'IncompleteSignatureException',
      message: `Authorization header requires '${ALGORITHM}' algorithm. Authorization=${value}`,
    };
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((k) => !fields.get(k));
  if (missing.length > 0) {
    return {
      code: 'IncompleteSignatureException',
      message: `${missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' ')} Authorization=${value}`,
    };
  }
  const credential = (fields.get('Credential') ?? '').split('/');
  if (credential.length !== 5) {
    return {
      code: 'IncompleteSignatureException',
      message: `Authorization header requires a valid 'Credential' parameter. Authorization=${value}`,
    };
  }
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    signedHeaders: (fields.get('SignedHeaders') ?? '').split(';').filter((h) => h !== ''),
    signature: fields.get('Signature') ?? '',
  };
}

/**
 * Check a request's SigV4 header signature. Returns undefined when it is valid, else the failure
 * AWS would report, checked in AWS's order: missing, malformed, unknown key, scope, date, signature.
 */
export async function verifySigV4(req: SignedRequest, policy: SigV4Policy): Promise<SigV4Failure | undefined> {
  const authorization = header(req.headers, 'authorization');
  if (authorization === undefined || authorization === '')
    return { code: 'MissingAuthenticationTokenException', message: MISSING_AUTH_MESSAGE };
  const auth = parseAuthorization(authorization);
  if ('code' in auth) return auth;
  let secretAccessKey = policy.credentials.secretAccessKey;
  let expired = false;
  if (auth.accessKeyId !== policy.credentials.accessKeyId) {
    const issued = policy.lookup?.(auth.accessKeyId);
    if (issued === undefined) return { code: 'UnrecognizedClientException', message: UNRECOGNIZED_CLIENT_MESSAGE };
    // Temporary keys are only valid together with their session token.
    const given = Buffer.from(header(req.headers, 'x-amz-security-token') ?? '', 'utf8');
    const want = Buffer.from(issued.sessionToken, 'utf8');
    if (given.length !== want.length || !timingSafeEqual(given, want))
      return { code: 'UnrecognizedClientException', message: UNRECOGNIZED_CLIENT_MESSAGE };
    secretAccessKey = issued.secretAccessKey;
    expired = issued.expired;
  }

  const amzDate = header(req.headers, 'x-amz-date');
  if (amzDate === undefined) {
    return {
      code: 'IncompleteSignatureException',
      message: `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`,
    };
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined)
    return {
      code: 'IncompleteSignatureException',
      message: `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`,
    };
  if (auth.terminator !== 'aws4_request') {
    return {
      code: 'InvalidSignatureException',
      message: `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'.`,
    };
  }
  if (auth.service !== policy.service) {
    return {
      code: 'InvalidSignatureException',
      message: `Credential should be scoped to correct service: '${policy.service}'. `,
    };
  }
  if (auth.region !== policy.region && policy.regions?.includes(auth.region) !== true) {
    return {
      code: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region, not '${auth.region}'. `,
    };
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    return {
      code: 'InvalidSignatureException',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    };
  }
  const skew = signedAt.getTime() - policy.nowMs;
  if (skew < -MAX_SKEW_MS) {
    return {
      code: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(policy.nowMs - MAX_SKEW_MS)} (${formatAmzDate(policy.nowMs)} - 15 min.)`,
    };
  }
  if (skew > MAX_SKEW_MS) {
    return {
      code: 'InvalidSignatureException',
      message: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(policy.nowMs + MAX_SKEW_MS)} (${formatAmzDate(policy.nowMs)} + 15 min.)`,
    };
  }
  if (!auth.signedHeaders.includes('host')) {
    return {
      code: 'InvalidSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }

  // A declared payload hash must be the body's real hash: the signer would otherwise trust it.
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  const declared = header(req.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== bodyHash)
    return { code: 'InvalidSignatureException', message: SIGNATURE_MISMATCH_MESSAGE };

  // Rebuild the request from exactly the headers the client says it signed.
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = header(req.headers, name);
    if (v === undefined) return { code: 'InvalidSignatureException', message: SIGNATURE_MISMATCH_MESSAGE };
    headers[name] = v;
  }
  const url = new URL(req.url, 'http://emulator.invalid');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname;
  }
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: 'emulator.invalid',
    path,
    query,
    headers,
    body: req.body,
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(request, { signingDate: signedAt, signableHeaders: new Set(auth.signedHeaders) });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers['authorization'] ?? ''))?.[1] ?? '';
  const given = Buffer.from(auth.signature, 'utf8');
  const want = Buffer.from(expected, 'utf8');
  if (want.length === 0 || given.length !== want.length || !timingSafeEqual(given, want)) {
    return { code: 'InvalidSignatureException', message: SIGNATURE_MISMATCH_MESSAGE };
  }
  if (expired) return { code: 'ExpiredTokenException', message: EXPIRED_TOKEN_MESSAGE };
  return undefined;
}
