/**
 * STS on the emulator's endpoint: `GetCallerIdentity` only (what `tunnel doctor` asks), in the
 * awsQuery protocol STS speaks: `POST /` with a form body `Action=GetCallerIdentity&Version=…`, no
 * `X-Amz-Target`, SigV4 service `sts`, and an XML answer. Errors are `<ErrorResponse>` documents
 * with the query protocol's codes (`InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`).
 *
 * Kept apart from the JSON handlers so other STS actions (AssumeRole, …) can be added beside it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EMULATOR_ACCOUNT_ID, EMULATOR_USER_ARN } from '../options.js';
import { verifySigV4 } from '../sigv4.js';
import type { EmulatorState } from '../state.js';
import { AwsFault, readBody } from './wire.js';

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
/** The emulated IAM user's unique id (IAM user ids start with AIDA). */
export const EMULATOR_USER_ID = 'AIDAEMULATOR00000USER';

/** One STS action: the form parameters in, the `<ActionResult>` inner XML out. */
export type StsAction = (state: EmulatorState, params: URLSearchParams) => string;

function getCallerIdentity(): string {
  return `<Arn>${EMULATOR_USER_ARN}</Arn><UserId>${EMULATOR_USER_ID}</UserId><Account>${EMULATOR_ACCOUNT_ID}</Account>`;
}

export const STS_ACTIONS: Map<string, StsAction> = new Map<string, StsAction>([
  ['GetCallerIdentity', getCallerIdentity],
]);

/** True for an awsQuery request (form body, no `X-Amz-Target`): STS's protocol. */
export function isQueryProtocolRequest(req: IncomingMessage): boolean {
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  return req.headers['x-amz-target'] === undefined && type.startsWith('application/x-www-form-urlencoded');
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** SigV4 failures as the query protocol names them. */
const QUERY_CODES: Record<string, { code: string; status: number }> = {
  MissingAuthenticationTokenException: { code: 'MissingAuthenticationToken', status: 403 },
  IncompleteSignatureException: { code: 'IncompleteSignature', status: 400 },
  UnrecognizedClientException: { code: 'InvalidClientTokenId', status: 403 },
  InvalidSignatureException: { code: 'SignatureDoesNotMatch', status: 403 },
  ExpiredTokenException: { code: 'ExpiredToken', status: 400 },
};

function send(state: EmulatorState, res: ServerResponse, status: number, requestId: string, xml: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/xml');
  res.setHeader('x-amzn-RequestId', requestId);
  res.setHeader('Date', new Date(state.apiNow()).toUTCString());
  res.setHeader('Content-Length', Buffer.byteLength(xml));
  res.end(xml);
}

async function handle(state: EmulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = state.newRequestId();
  const at = state.options.clock.wallNow();
  let action = '(none)';
  try {
    const body = await readBody(req);
    const params = new URLSearchParams(body.toString('utf8'));
    action = params.get('Action') ?? '(none)';
    const failure = await verifySigV4(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      { credentials: state.options.credentials, region: state.options.region, service: 'sts', nowMs: state.apiNow() },
    );
    if (failure) throw new AwsFault(failure.code, failure.message);
    if (state.faults.expiredToken === true)
      throw new AwsFault('ExpiredTokenException', 'The security token included in the request is expired');
    const run = STS_ACTIONS.get(action);
    if (run === undefined)
      throw new AwsFault('InvalidAction', `Could not find operation ${action} for version NO_VERSION_SPECIFIED`);
    const result = run(state, params);
    state.recordCall({ operation: `sts:${action}`, at, request: Object.fromEntries(params) });
    send(
      state,
      res,
      200,
      requestId,
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    );
  } catch (e) {
    const fault = e instanceof AwsFault ? e : new AwsFault('InternalFailure', 'An internal error occurred.', 500);
    const mapped = QUERY_CODES[fault.code] ?? { code: fault.code, status: fault.status };
    state.recordCall({ operation: `sts:${action}`, at, request: undefined, errorCode: mapped.code });
    send(
      state,
      res,
      mapped.status,
      requestId,
      `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${mapped.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${mapped.code}</Code><Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
}

/** The request listener for STS query requests (startEmulator routes them here). */
export function createStsHandler(state: EmulatorState): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => void handle(state, req, res);
}
