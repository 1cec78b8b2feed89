/**
 * SDK exception → `AwsError` with a stable code. The service's own message text is kept
 * verbatim (it names the missing permission, the offline instance, the bad parameter), and
 * its `__type` goes into `details.awsCode`.
 */
import { AwsError, type ErrorCode } from '../errors.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);

function codeFor(awsCode: string): AwsError['code'] {
  if (awsCode === 'AccessDeniedException' || awsCode === 'AccessDenied') return 'ERR_AWS_ACCESS_DENIED';
  if (awsCode === 'TargetNotConnected') return 'ERR_AWS_TARGET_NOT_CONNECTED';
  if (awsCode === 'InvalidDocument') return 'ERR_AWS_INVALID_DOCUMENT';
  if (awsCode === 'InvalidParameters' || awsCode === 'ValidationException') return 'ERR_AWS_INVALID_PARAMETERS';
  if (awsCode.startsWith('ExpiredToken')) return 'ERR_AWS_EXPIRED_TOKEN';
  if (
    awsCode === 'UnrecognizedClientException' ||
    awsCode === 'InvalidSignatureException' ||
    awsCode === 'IncompleteSignature' ||
    awsCode === 'MissingAuthenticationToken' ||
    awsCode === 'InvalidClientTokenId' ||
    awsCode === 'CredentialsProviderError'
  ) {
    return 'ERR_AWS_CREDENTIALS';
  }
  if (awsCode === 'ThrottlingException' || awsCode === 'Throttling' || awsCode === 'TooManyRequestsException') {
    return 'ERR_AWS_THROTTLED';
  }
  return 'ERR_AWS_API';
}

function prop(e: object, key: string): unknown {
  return (e as Record<string, unknown>)[key];
}

/** Map anything the SDK (or its HTTP layer, or a credential provider) threw to an `AwsError`. */
export function mapAwsError(err: unknown, operation: string): AwsError {
  if (err instanceof AwsError) return err;
  if (typeof err !== 'object' || err === null) {
    return new AwsError('ERR_AWS_API', `${operation} failed: ${String(err)}`, { cause: err });
  }
  const name = typeof prop(err, 'name') === 'string' ? (prop(err, 'name') as string) : 'Error';
  const message = typeof prop(err, 'message') === 'string' ? (prop(err, 'message') as string) : String(err);
  const meta = prop(err, '$metadata');
  const status =
    typeof meta === 'object' && meta !== null && typeof prop(meta, 'httpStatusCode') === 'number'
      ? (prop(meta, 'httpStatusCode') as number)
      : undefined;
  const sysCode = typeof prop(err, 'code') === 'string' ? (prop(err, 'code') as string) : undefined;
  const details = { awsCode: name, operation, ...(status === undefined ? {} : { httpStatus: status }) };

  if (status === undefined && (name === 'CredentialsProviderError' || name === 'ProviderError')) {
    return new AwsError('ERR_AWS_CREDENTIALS', `${operation}: no usable AWS credentials: ${message}`, {
      cause: err,
      details,
    });
  }
  if (
    status === undefined &&
    ((sysCode !== undefined && NETWORK_CODES.has(sysCode)) || name === 'TimeoutError' || name === 'RequestTimeout')
  ) {
    return new AwsError('ERR_AWS_ENDPOINT_UNREACHABLE', `${operation}: SSM endpoint unreachable: ${message}`, {
      cause: err,
      details: { ...details, awsCode: sysCode ?? name },
    });
  }
  return new AwsError(codeFor(name), message, { cause: err, details });
}
