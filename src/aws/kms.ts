/**
 * The one KMS call `tunnel` makes (issue #9): GenerateDataKey for a session the agent wants
 * encrypted. Same conventions as the SSM client (`ssm-api.ts`): the settings' region, profile and
 * credentials (re-read before every signing), and the endpoint rules of `settings.ts`.
 *
 * Endpoint: `AWS_ENDPOINT_URL_KMS` when set; otherwise the SSM endpoint when that is on loopback
 * (the embedded emulator serves both APIs on one port); otherwise the SDK's regional default.
 * A remote SSM endpoint (e.g. a VPC endpoint) is never reused for KMS: it only serves SSM.
 *
 * Errors are `AwsError`s: KMS's own refusals (unknown or disabled key, key policy, bad ciphertext)
 * are `ERR_AWS_KMS` with the service's text; credentials, access, throttling and network keep the
 * codes `error-map.ts` gives them.
 */
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AwsError } from '../errors.js';
import { baseCredentialProvider, refreshingCredentials } from './credentials.js';
import { mapAwsError } from './error-map.js';
import { isLoopbackName } from '../loopback.js';
import { resolveSsmEndpoint, type AwsSettings } from './settings.js';

export interface GenerateDataKeyInput {
  /** Key id, key ARN, alias name or alias ARN (as the agent sent it). */
  keyId: string;
  numberOfBytes: number;
  encryptionContext: Record<string, string>;
}

/** GenerateDataKey result. `plaintext` is secret: never log it, wipe it when done. */
export interface GeneratedDataKey {
  ciphertextBlob: Buffer;
  plaintext: Buffer;
  /** The key ARN KMS used. */
  keyArn: string | undefined;
}

export interface KmsApi {
  generateDataKey(input: GenerateDataKeyInput): Promise<GeneratedDataKey>;
}

/** Codes `mapAwsError` gives that say nothing more specific than "the call failed". */
const GENERIC_CODES: ReadonlySet<string> = new Set(['ERR_AWS_API', 'ERR_AWS_INVALID_PARAMETERS']);

/**
 * The KMS endpoint to use, or undefined for the SDK's regional default. Throws
 * `ERR_AWS_INSECURE_ENDPOINT` for plain http to a non-loopback host (unless allowed), and
 * `ERR_AWS_API` for a URL that does not parse or is not http(s).
 */
export function resolveKmsEndpoint(settings: AwsSettings): string | undefined {
  const env = settings.env ?? process.env;
  const raw = env['AWS_ENDPOINT_URL_KMS'];
  if (raw !== undefined && raw !== '') {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AwsError('ERR_AWS_API', `KMS endpoint is not a valid URL: ${raw}`);
    }
    if (url.protocol === 'https:') return raw;
    if (url.protocol !== 'http:')
      throw new AwsError('ERR_AWS_API', `KMS endpoint must be https:// (got ${url.protocol}//)`);
    if (isLoopbackName(url.hostname) || settings.allowInsecureEndpoint === true) return raw;
    throw new AwsError(
      'ERR_AWS_INSECURE_ENDPOINT',
      `refusing plain http:// KMS endpoint ${url.host}: requests and data keys would travel unencrypted (use https://, or http only on loopback)`,
      { details: { endpoint: url.host } },
    );
  }
  const ssm = resolveSsmEndpoint(settings);
  if (ssm !== undefined && isLoopbackName(new URL(ssm).hostname)) return ssm;
  return undefined;
}

/** Map a KMS failure: service refusals become `ERR_AWS_KMS`, the rest keeps its mapping. */
export function mapKmsError(err: unknown, operation: string): AwsError {
  const mapped = mapAwsError(err, operation);
  if (mapped.code === 'ERR_AWS_ENDPOINT_UNREACHABLE') {
    // error-map.ts words this for SSM; say which endpoint it was.
    return new AwsError(mapped.code, mapped.message.replace('SSM endpoint', 'KMS endpoint'), {
      cause: err,
      details: mapped.details,
    });
  }
  if (!GENERIC_CODES.has(mapped.code)) return mapped;
  return new AwsError('ERR_AWS_KMS', `KMS ${operation} failed: ${mapped.message}`, {
    cause: err,
    details: mapped.details,
  });
}

/** Build the SDK-backed `KmsApi`. Throws `ERR_AWS_INSECURE_ENDPOINT` at once for a bad endpoint. */
export function createKmsApi(settings: AwsSettings): KmsApi {
  const endpoint = resolveKmsEndpoint(settings);
  const creds = refreshingCredentials(baseCredentialProvider(settings));
  const client = new KMSClient({
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
    credentials: creds.provider,
    maxAttempts: settings.maxAttempts ?? 3,
  });
  return {
    async generateDataKey(input) {
      let out;
      try {
        out = await client.send(
          new GenerateDataKeyCommand({
            KeyId: input.keyId,
            NumberOfBytes: input.numberOfBytes,
            EncryptionContext: input.encryptionContext,
          }),
        );
      } catch (err) {
        const mapped = mapKmsError(err, 'GenerateDataKey');
        if (mapped.code === 'ERR_AWS_EXPIRED_TOKEN' || mapped.code === 'ERR_AWS_CREDENTIALS') creds.invalidate();
        throw mapped;
      }
      if (out.CiphertextBlob === undefined || out.Plaintext === undefined || out.CiphertextBlob.length === 0) {
        throw new AwsError('ERR_AWS_KMS', 'KMS GenerateDataKey returned no CiphertextBlob/Plaintext', {
          details: { operation: 'GenerateDataKey' },
        });
      }
      return {
        ciphertextBlob: Buffer.from(out.CiphertextBlob),
        plaintext: Buffer.from(out.Plaintext),
        keyArn: out.KeyId,
      };
    },
  };
}
