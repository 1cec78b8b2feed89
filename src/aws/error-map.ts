/**
 * SDK exception → `AwsError` with a stable code. The service's own message text is kept
 * verbatim (it names the missing permission, the offline instance, the bad parameter), and
 * its `__type` goes into `details.awsCode`.
 */
import { AwsError } from '../errors.js';
import { ResponseTooLargeError } from './response-cap.js';

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

/** Node's certificate verification failures (OpenSSL codes and ERR_TLS_CERT_ALTNAME_INVALID). */
const TLS_TRUST_CODES =
  /^(UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_|ERR_TLS_CERT_ALTNAME_INVALID)/;

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
  // The SDK appends "Deserialization error: … inspect the hidden field {error}.$response" to
  // errors raised while reading or parsing a body: say plainly what was wrong instead.
  if (err instanceof ResponseTooLargeError) {
    return new AwsError(
      'ERR_AWS_RESPONSE_TOO_LARGE',
      `${operation}: the response is larger than ${err.limit} bytes (the limit for an API response); is the endpoint really SSM?`,
      { cause: err, details: { operation, limit: err.limit } },
    );
  }
  if (typeof err === 'object' && err !== null && '$response' in err && err instanceof SyntaxError) {
    return new AwsError(
      'ERR_AWS_BAD_RESPONSE',
      `${operation}: the response is not valid JSON; is the endpoint really SSM?`,
      {
        cause: err,
        details: { operation },
      },
    );
  }
  if (typeof err !== 'object' || err === null) {
    return new AwsError('ERR_AWS_API', `${operation} failed: ${String(err)}`, { cause: err });
  }
  const name = typeof prop(err, 'name') === 'string' ? (prop(err, 'name') as string) : 'Error';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown object without a message: String() is what there is
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
  if (status === undefined && (name === 'TimeoutError' || name === 'RequestTimeout')) {
    // The request handler's connect or response timeout (network.ts).
    return new AwsError('ERR_AWS_TIMEOUT', `${operation}: no answer from the SSM endpoint in time: ${message}`, {
      cause: err,
      details: { ...details, awsCode: name },
    });
  }
  if (status === undefined && sysCode !== undefined && TLS_TRUST_CODES.test(sysCode)) {
    return new AwsError(
      'ERR_AWS_ENDPOINT_UNREACHABLE',
      `${operation}: the endpoint's TLS certificate is not trusted (${message}); if a proxy or private CA signs it, ` +
        'point AWS_CA_BUNDLE (or ca_bundle in the AWS profile, or NODE_EXTRA_CA_CERTS) at that CA',
      { cause: err, details: { ...details, awsCode: sysCode } },
    );
  }
  if (status === undefined && sysCode !== undefined && NETWORK_CODES.has(sysCode)) {
    return new AwsError('ERR_AWS_ENDPOINT_UNREACHABLE', `${operation}: SSM endpoint unreachable: ${message}`, {
      cause: err,
      details: { ...details, awsCode: sysCode ?? name },
    });
  }
  return new AwsError(codeFor(name), message, { cause: err, details });
}
