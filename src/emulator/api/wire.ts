/**
 * awsJson1.1 wire helpers shared by the SSM and KMS handlers: body reading, responses, the
 * `{"__type","message"}` error shape, member validation texts and the emulated IAM deny list.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EMULATOR_ACCOUNT_ID, EMULATOR_USER_ARN } from '../options.js';
import type { EmulatorState } from '../state.js';

export const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Request bodies above this are refused; real SSM requests are a few KiB at most. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * An error the emulated service answers with: HTTP `status` (400 unless a server error) and body
 * `{"__type": code, "message": message}`. SDKs surface `code` as the error's `name`.
 */
export class AwsFault extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export type JsonObject = Record<string, unknown>;

export function isRecord(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read the whole body, refusing more than `MAX_BODY_BYTES`. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AwsFault('SerializationException', `Request body is larger than ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** Parse an awsJson1.1 body: empty means `{}`; anything but a JSON object is a SerializationException. */
export function parseJsonBody(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsFault('SerializationException', 'Start of structure or map found where not expected.');
  }
  if (!isRecord(value))
    throw new AwsFault('SerializationException', 'Start of structure or map found where not expected.');
  return value;
}

function commonHeaders(state: EmulatorState, res: ServerResponse, requestId: string): void {
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('x-amzn-RequestId', requestId);
  // The SDK corrects its clock skew from this header, so it must come from the emulator's clock.
  res.setHeader('Date', new Date(state.apiNow()).toUTCString());
}

export function sendJson(state: EmulatorState, res: ServerResponse, requestId: string, body: JsonObject): void {
  const text = JSON.stringify(body);
  commonHeaders(state, res, requestId);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.statusCode = 200;
  res.end(text);
}

export function sendFault(state: EmulatorState, res: ServerResponse, requestId: string, fault: AwsFault): void {
  const text = JSON.stringify({ __type: fault.code, message: fault.message });
  commonHeaders(state, res, requestId);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  // Some clients (and the Go SDK v1 used by the plugin) also read the code from this header.
  res.setHeader('x-amzn-ErrorType', fault.code);
  res.statusCode = fault.status;
  res.end(text);
}

// ---------------------------------------------------------------------------------------------
// Member validation, with the coral "1 validation error detected" texts.

export function validationError(member: string, value: unknown, constraint: string): AwsFault {
  const shown =
    value === undefined || value === null ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
  return new AwsFault(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

/** A required non-empty string member. */
export function requireString(body: JsonObject, key: string, member: string): string {
  const v = body[key];
  if (v === undefined || v === null) throw validationError(member, v, 'Member must not be null');
  if (typeof v !== 'string') throw new AwsFault('SerializationException', `Expected a string for ${key}.`);
  if (v.length < 1) throw validationError(member, v, 'Member must have length greater than or equal to 1');
  return v;
}

export function optionalString(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AwsFault('SerializationException', `Expected a string for ${key}.`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Emulated IAM

/** ARN of an instance as IAM sees it in ssm:StartSession. */
export function instanceArn(region: string, instanceId: string): string {
  return instanceId.startsWith('mi-')
    ? `arn:aws:ssm:${region}:${EMULATOR_ACCOUNT_ID}:managed-instance/${instanceId}`
    : `arn:aws:ec2:${region}:${EMULATOR_ACCOUNT_ID}:instance/${instanceId}`;
}

/** ARN of an SSM document as IAM sees it in ssm:StartSession (AWS-owned documents have no account). */
export function documentArn(region: string, name: string): string {
  return name.startsWith('AWS-')
    ? `arn:aws:ssm:${region}::document/${name}`
    : `arn:aws:ssm:${region}:${EMULATOR_ACCOUNT_ID}:document/${name}`;
}

export function sessionArn(region: string, sessionId: string): string {
  return `arn:aws:ssm:${region}:${EMULATOR_ACCOUNT_ID}:session/${sessionId}`;
}

export function kmsKeyArn(region: string, keyId: string): string {
  return keyId.startsWith('arn:') ? keyId : `arn:aws:kms:${region}:${EMULATOR_ACCOUNT_ID}:key/${keyId}`;
}

/** The `expiredToken` fault: every signed call is refused as with expired session credentials. */
export function checkTokenExpiry(state: EmulatorState): void {
  if (state.faults.expiredToken === true)
    throw new AwsFault('ExpiredTokenException', 'The security token included in the request is expired');
}

/**
 * Throw AccessDeniedException when an `accessDeny` rule covers `action` on `resourceArn`. A rule's
 * resource matches as `*`, the full ARN, or the ARN's last path segment (an instance or session id).
 */
export function checkAccess(state: EmulatorState, action: string, resourceArn: string): void {
  const service = action.split(':')[0] ?? '';
  for (const rule of state.options.accessDeny) {
    const actionMatches =
      rule.action.toLowerCase() === action.toLowerCase() || rule.action.toLowerCase() === `${service.toLowerCase()}:*`;
    if (!actionMatches) continue;
    const tail = resourceArn.slice(resourceArn.lastIndexOf('/') + 1);
    if (rule.resource === '*' || rule.resource === resourceArn || rule.resource === tail) {
      throw new AwsFault(
        'AccessDeniedException',
        `User: ${EMULATOR_USER_ARN} is not authorized to perform: ${action} on resource: ${resourceArn} because no identity-based policy allows the ${action} action`,
      );
    }
  }
}
