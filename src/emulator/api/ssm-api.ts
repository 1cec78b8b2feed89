/**
 * The emulator's JSON API endpoint: `POST /` with awsJson1.1 bodies, dispatched on
 * `X-Amz-Target` (`AmazonSSM.<Op>` for SSM, `TrentService.<Op>` for KMS), every request SigV4
 * checked against the emulator's credentials first, as AWS does.
 *
 * SSM operations: StartSession, ResumeSession, TerminateSession, DescribeInstanceInformation,
 * ListTagsForResource. Responses carry `x-amzn-RequestId` and `Content-Type:
 * application/x-amz-json-1.1`; errors are `{"__type","message"}` with HTTP 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_SESSION_DOCUMENT, findPortDocument, resolveDocumentParameters } from '../documents.js';
import { EMULATOR_USER_ARN } from '../options.js';
import { verifySigV4 } from '../sigv4.js';
import type { CallContext, EmulatorState } from '../state.js';
import { callerOf, credentialLookup } from '../identity/identity-api.js';
import { describeInstanceInformation, listTagsForResource } from './describe-instances.js';
import { KMS_OPERATIONS } from './kms-api.js';
import { ECS_OPERATIONS, ECS_TARGET_PREFIX } from './ecs-api.js';
import { findEcsTarget } from '../databases.js';
import { resolveInstance } from '../options.js';
import {
  AwsFault,
  checkAccess,
  checkTokenExpiry,
  documentArn,
  instanceArn,
  optionalString,
  parseJsonBody,
  readBody,
  requireString,
  sendFault,
  sendJson,
  sessionArn,
  type JsonObject,
} from './wire.js';

/** One operation: takes the parsed body, returns the response body or throws AwsFault. */
export type Operation = (state: EmulatorState, body: JsonObject, ctx?: CallContext) => JsonObject;

function startSession(state: EmulatorState, body: JsonObject, ctx?: CallContext): JsonObject {
  const target = requireString(body, 'Target', 'target');
  const documentName = optionalString(body, 'DocumentName') ?? DEFAULT_SESSION_DOCUMENT;
  const reason = optionalString(body, 'Reason');
  if (reason !== undefined && reason.length < 1)
    throw new AwsFault(
      'ValidationException',
      "1 validation error detected: Value '' at 'reason' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  // IAM is evaluated before the service looks at the request.
  checkAccess(state, 'ssm:StartSession', instanceArn(state.options.region, target));
  // StartSession is authorized on the target and on the document alike.
  checkAccess(state, 'ssm:StartSession', documentArn(state.options.region, documentName));
  const doc = findPortDocument(documentName);
  if (!doc) {
    throw new AwsFault(
      'InvalidDocument',
      documentName === DEFAULT_SESSION_DOCUMENT
        ? `Document ${documentName} (a shell session) is not supported by the emulator; use a port forwarding document.`
        : `Document with name ${documentName} does not exist.`,
    );
  }
  const resolved = resolveDocumentParameters(doc, body['Parameters']);
  if ('code' in resolved) throw new AwsFault(resolved.code, resolved.message);
  // Issue #19: ECS Exec targets `ecs:<cluster>_<task-id>_<runtime-id>` act as managed nodes while
  // their task runs with execute-command enabled.
  const ecs = findEcsTarget(state.options.databases, target);
  const instance =
    ecs !== undefined && ecs.task.status === 'RUNNING' && ecs.task.execEnabled
      ? resolveInstance({ instanceId: target, computerName: ecs.container })
      : state.instances.get(target);
  // Unknown, offline and foreign targets (another account or region) look the same to the caller.
  if (!instance || instance.pingStatus !== 'Online' || !state.visible(instance, ctx))
    throw new AwsFault('TargetNotConnected', `${target} is not connected.`);
  const session = state.createSession({
    target,
    instance,
    documentName: doc.name,
    parameters: resolved.parameters,
    properties: resolved.properties,
  });
  return {
    SessionId: session.sessionId,
    StreamUrl: session.streamUrl,
    TokenValue: state.issueToken(session.sessionId),
  };
}

function resumeSession(state: EmulatorState, body: JsonObject): JsonObject {
  const sessionId = requireString(body, 'SessionId', 'sessionId');
  checkAccess(state, 'ssm:ResumeSession', sessionArn(state.options.region, sessionId));
  if (state.faults.failResumeOnce === true) {
    // Fault knob: one refusal, as a transient IAM/credentials hiccup would produce.
    state.faults.failResumeOnce = false;
    const arn = sessionArn(state.options.region, sessionId);
    throw new AwsFault(
      'AccessDeniedException',
      `User: ${EMULATOR_USER_ARN} is not authorized to perform: ssm:ResumeSession on resource: ${arn} (injected fault: failResumeOnce)`,
    );
  }
  const session = state.sessions.get(sessionId);
  if (!session) throw new AwsFault('DoesNotExistException', `Session with id ${sessionId} does not exist.`);
  // A terminated session resumes without a token: the client reports "timed out" and exits.
  if (session.status === 'terminated') return { SessionId: sessionId, StreamUrl: session.streamUrl };
  return { SessionId: sessionId, StreamUrl: state.resumeStreamUrl(session), TokenValue: state.issueToken(sessionId) };
}

function terminateSession(state: EmulatorState, body: JsonObject): JsonObject {
  const sessionId = requireString(body, 'SessionId', 'sessionId');
  checkAccess(state, 'ssm:TerminateSession', sessionArn(state.options.region, sessionId));
  // Idempotent: terminating an ended (or unknown) session succeeds and changes nothing.
  state.terminateSession(sessionId, '');
  return { SessionId: sessionId };
}

function describeInstances(state: EmulatorState, body: JsonObject, ctx?: CallContext): JsonObject {
  checkAccess(state, 'ssm:DescribeInstanceInformation', '*');
  return describeInstanceInformation(state, body, ctx);
}

export const SSM_OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['StartSession', startSession],
  ['ResumeSession', resumeSession],
  ['TerminateSession', terminateSession],
  ['DescribeInstanceInformation', describeInstances],
  ['ListTagsForResource', listTagsForResource],
]);

interface Route {
  /** SigV4 signing name the credential scope must carry. */
  service: 'ssm' | 'kms' | 'ecs';
  /** Name recorded in `state.calls`: `StartSession`, `kms:Decrypt`, … */
  recorded: string;
  operation: Operation | undefined;
}

function route(target: string | undefined): Route {
  const dot = target === undefined ? -1 : target.indexOf('.');
  const prefix = target === undefined || dot < 0 ? '' : target.slice(0, dot);
  const op = target === undefined || dot < 0 ? (target ?? '') : target.slice(dot + 1);
  if (prefix === 'TrentService') return { service: 'kms', recorded: `kms:${op}`, operation: KMS_OPERATIONS.get(op) };
  if (prefix === ECS_TARGET_PREFIX) return { service: 'ecs', recorded: `ecs:${op}`, operation: ECS_OPERATIONS.get(op) };
  return {
    service: 'ssm',
    recorded: op === '' ? '(none)' : op,
    operation: prefix === 'AmazonSSM' ? SSM_OPERATIONS.get(op) : undefined,
  };
}

async function handle(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
): Promise<void> {
  const target = typeof req.headers['x-amz-target'] === 'string' ? req.headers['x-amz-target'] : undefined;
  const r = route(target);
  let request: unknown;
  const at = state.options.clock.wallNow();
  try {
    const body = await readBody(req);
    // Authentication comes first: an unsigned request learns nothing about the operation.
    const failure = await verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      {
        credentials: state.options.credentials,
        region: state.options.region,
        service: r.service,
        nowMs: state.apiNow(),
        regions: state.regions(),
        lookup: credentialLookup(state.identity, state.apiNow()),
      },
    );
    if (failure) throw new AwsFault(failure.code, failure.message);
    checkTokenExpiry(state);
    if (req.method !== 'POST' || r.operation === undefined) {
      throw new AwsFault(
        'UnknownOperationException',
        target === undefined ? 'Missing X-Amz-Target header.' : `Unknown operation ${target}.`,
      );
    }
    const parsed = parseJsonBody(body);
    request = parsed;
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    const ctx: CallContext = {
      accountId: callerOf(state.identity, authorization).accountId,
      region: /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization ?? '')?.[1] ?? state.options.region,
    };
    const out = r.operation(state, parsed, ctx);
    state.recordCall({ operation: r.recorded, at, request });
    sendJson(state, res, requestId, out);
  } catch (e) {
    const fault = e instanceof AwsFault ? e : new AwsFault('InternalServerError', 'An internal error occurred.', 500);
    state.recordCall({ operation: r.recorded, at, request, errorCode: fault.code });
    sendFault(state, res, requestId, fault);
  }
}

/**
 * The HTTP request listener of the emulator's API (SSM and KMS on one endpoint). Use it with
 * `http.createServer(createApiHandler(state))`; startEmulator routes non-websocket requests here.
 */
export function createApiHandler(state: EmulatorState): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const requestId = state.newRequestId();
    void handle(state, req, res, requestId);
  };
}

/** The name the architecture contract uses for the same handler. */
export const createSsmApiHandler = createApiHandler;
