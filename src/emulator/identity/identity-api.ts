/**
 * The emulator's sign-in endpoints (issue #15), on the same port as the SSM API:
 *
 * - SSO OIDC (restJson1, unsigned): `POST /client/register` (RegisterClient),
 *   `POST /device_authorization` (StartDeviceAuthorization), `POST /token` (CreateToken with the
 *   device_code and refresh_token grants). Errors are `{"error","error_description"}` with the
 *   exception name in `x-amzn-ErrorType`, as the service sends them.
 * - SSO portal (restJson1, bearer `x-amz-sso_bearer_token`): `GET /federation/credentials`
 *   (GetRoleCredentials), `POST /logout` (Logout).
 * - STS (awsQuery, SigV4 `sts`): `POST /` with a form body, `Action=AssumeRole` (MFA checked).
 * - Test hooks (documented in docs/emulator.md): `GET /device?user_code=…` approves a pending
 *   device code (it is the verification URL the emulator hands out, so "opening the browser"
 *   signs in); `POST /_emulator/identity/expire` ends every sign-in and credential at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EMULATOR_ACCOUNT_ID, EMULATOR_USER_ARN } from '../options.js';
import { verifySigV4 } from '../sigv4.js';
import type { EmulatorState } from '../state.js';
import { isRecord, readBody } from '../api/wire.js';
import type { Caller, IdentityStore, IssuedCredentials } from './identity-store.js';

const OIDC_PATHS = new Set(['/client/register', '/device_authorization', '/token']);

/** Does this request belong to the identity endpoints (rather than the SSM/KMS JSON API)? */
export function isIdentityRequest(req: IncomingMessage, path: string): boolean {
  if (OIDC_PATHS.has(path) || path === '/federation/credentials' || path === '/logout' || path === '/device')
    return true;
  // STS AssumeRole (form POST /) is routed here by emulator.ts after it read the Action.
  return path.startsWith('/_emulator/identity/');
}

/** Secret and token of an access key the emulator issued, for the SigV4 check. */
export function credentialLookup(identity: IdentityStore, nowMs: number) {
  return (accessKeyId: string) => {
    const c = identity.credentials(accessKeyId);
    if (c === undefined) return undefined;
    return { secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expired: c.expiresAt <= nowMs };
  };
}

/** The account a signed request acts in: issued credentials carry theirs, the root keys the default one. */
export function callerOf(identity: IdentityStore, authorization: string | undefined): Caller {
  const keyId = /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
  const c = keyId === undefined ? undefined : identity.credentials(keyId);
  return c === undefined
    ? { accountId: EMULATOR_ACCOUNT_ID, arn: EMULATOR_USER_ARN }
    : { accountId: c.accountId, arn: c.arn };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/xml' : 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** An OIDC error: `x-amzn-ErrorType` names the exception, the body carries the OAuth fields. */
function oidcError(res: ServerResponse, status: number, exception: string, error: string, description: string): void {
  send(res, status, { error, error_description: description }, { 'x-amzn-ErrorType': exception });
}

function portalError(res: ServerResponse, status: number, exception: string, message: string): void {
  send(res, status, { message }, { 'x-amzn-ErrorType': exception });
}

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const buf = await readBody(req);
  if (buf.length === 0) return {};
  try {
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}

const POLL_ERRORS = {
  authorization_pending: [400, 'AuthorizationPendingException', 'Authorization is still pending'],
  slow_down: [400, 'SlowDownException', 'Client is polling too quickly'],
  expired_token: [400, 'ExpiredTokenException', 'Device code has expired'],
  invalid_grant: [400, 'InvalidGrantException', 'Invalid grant provided'],
  invalid_client: [401, 'InvalidClientException', 'Invalid client provided'],
} as const;

async function oidc(
  state: EmulatorState,
  identity: IdentityStore,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const body = await jsonBody(req);
  const at = state.options.clock.wallNow();
  if (path === '/client/register') {
    if (str(body, 'clientName') === undefined || str(body, 'clientType') === undefined) {
      state.recordCall({
        operation: 'sso-oidc:RegisterClient',
        at,
        request: undefined,
        errorCode: 'InvalidRequestException',
      });
      return oidcError(
        res,
        400,
        'InvalidRequestException',
        'invalid_request',
        'clientName and clientType are required',
      );
    }
    const c = identity.registerClient();
    state.recordCall({ operation: 'sso-oidc:RegisterClient', at, request: undefined });
    return send(res, 200, {
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      clientIdIssuedAt: Math.floor(at / 1000),
      clientSecretExpiresAt: Math.floor(c.expiresAt / 1000),
    });
  }
  if (path === '/device_authorization') {
    const startUrl = str(body, 'startUrl') ?? '';
    const d = identity.startDeviceAuthorization(str(body, 'clientId') ?? '', str(body, 'clientSecret') ?? '', startUrl);
    if (d === undefined) {
      state.recordCall({
        operation: 'sso-oidc:StartDeviceAuthorization',
        at,
        request: undefined,
        errorCode: 'InvalidClientException',
      });
      return oidcError(res, 401, 'InvalidClientException', 'invalid_client', 'Invalid client provided');
    }
    state.recordCall({ operation: 'sso-oidc:StartDeviceAuthorization', at, request: { startUrl } });
    const host = req.headers.host ?? '127.0.0.1';
    const verificationUri = `http://${host}/device`;
    return send(res, 200, {
      deviceCode: d.deviceCode,
      userCode: d.userCode,
      verificationUri,
      verificationUriComplete: `${verificationUri}?user_code=${d.userCode}`,
      expiresIn: identity.settings.deviceCodeLifetimeSeconds,
      interval: identity.settings.pollIntervalSeconds,
    });
  }
  // /token
  const grant = str(body, 'grantType');
  const clientId = str(body, 'clientId') ?? '';
  const clientSecret = str(body, 'clientSecret') ?? '';
  const poll =
    grant === 'urn:ietf:params:oauth:grant-type:device_code'
      ? identity.pollDevice(clientId, clientSecret, str(body, 'deviceCode') ?? '')
      : grant === 'refresh_token'
        ? identity.refresh(clientId, clientSecret, str(body, 'refreshToken') ?? '')
        : undefined;
  if (poll === undefined) {
    state.recordCall({
      operation: 'sso-oidc:CreateToken',
      at,
      request: { grantType: grant },
      errorCode: 'UnsupportedGrantTypeException',
    });
    return oidcError(res, 400, 'UnsupportedGrantTypeException', 'unsupported_grant_type', 'Unsupported grant type');
  }
  if (poll.kind !== 'token') {
    const [status, exception, description] = POLL_ERRORS[poll.kind];
    state.recordCall({ operation: 'sso-oidc:CreateToken', at, request: { grantType: grant }, errorCode: exception });
    return oidcError(res, status, exception, poll.kind, description);
  }
  state.recordCall({ operation: 'sso-oidc:CreateToken', at, request: { grantType: grant } });
  return send(res, 200, {
    accessToken: poll.accessToken,
    tokenType: 'Bearer',
    expiresIn: poll.expiresIn,
    refreshToken: poll.refreshToken,
  });
}

function portal(
  state: EmulatorState,
  identity: IdentityStore,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const at = state.options.clock.wallNow();
  const bearer = req.headers['x-amz-sso_bearer_token'];
  const accessToken = typeof bearer === 'string' ? bearer : '';
  const op = path === '/logout' ? 'sso:Logout' : 'sso:GetRoleCredentials';
  if (!identity.checkAccessToken(accessToken)) {
    state.recordCall({ operation: op, at, request: undefined, errorCode: 'UnauthorizedException' });
    return portalError(res, 401, 'UnauthorizedException', 'Session token not found or invalid');
  }
  if (path === '/logout') {
    identity.revokeAccessToken(accessToken);
    state.recordCall({ operation: op, at, request: undefined });
    res.writeHead(200, { 'content-length': '0' });
    return res.end();
  }
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const accountId = url.searchParams.get('account_id') ?? '';
  const roleName = url.searchParams.get('role_name') ?? '';
  if (!/^\d{12}$/.test(accountId) || roleName === '') {
    state.recordCall({ operation: op, at, request: { accountId, roleName }, errorCode: 'InvalidRequestException' });
    return portalError(res, 400, 'InvalidRequestException', 'account_id and role_name are required');
  }
  const c = identity.issueCredentials(accountId, `arn:aws:sts::${accountId}:assumed-role/${roleName}/tunnel-user`);
  state.recordCall({ operation: op, at, request: { accountId, roleName } });
  return send(res, 200, {
    roleCredentials: {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiresAt,
    },
  });
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function stsError(res: ServerResponse, status: number, code: string, message: string, requestId: string): void {
  send(
    res,
    status,
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}

function assumeRoleXml(c: IssuedCredentials, requestId: string): string {
  const exp = new Date(c.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return (
    `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
    `<Credentials><AccessKeyId>${c.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(c.secretAccessKey)}</SecretAccessKey>` +
    `<SessionToken>${xmlEscape(c.sessionToken)}</SessionToken><Expiration>${exp}</Expiration></Credentials>` +
    `<AssumedRoleUser><AssumedRoleId>AROAEMULATOR:${xmlEscape(c.arn.slice(c.arn.lastIndexOf('/') + 1))}</AssumedRoleId>` +
    `<Arn>${xmlEscape(c.arn)}</Arn></AssumedRoleUser></AssumeRoleResult>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`
  );
}

async function sts(state: EmulatorState, identity: IdentityStore, req: IncomingMessage, res: ServerResponse) {
  const requestId = identity.newRequestId();
  const at = state.options.clock.wallNow();
  const body = await readBody(req);
  const form = new URLSearchParams(body.toString('utf8'));
  const action = form.get('Action') ?? '';
  const op = `sts:${action || '(none)'}`;
  const nowMs = state.options.clock.wallNow();
  const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
  const signingRegion = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth ?? '')?.[1];
  const failure = await verifySigV4(
    { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
    {
      credentials: state.options.credentials,
      region: state.options.region,
      // STS is global: any region the client signs for is accepted.
      ...(signingRegion === undefined ? {} : { regions: [signingRegion] }),
      service: 'sts',
      nowMs,
      lookup: credentialLookup(identity, nowMs),
    },
  );
  if (failure !== undefined) {
    const code =
      failure.code === 'ExpiredTokenException'
        ? 'ExpiredToken'
        : failure.code === 'UnrecognizedClientException'
          ? 'InvalidClientTokenId'
          : failure.code === 'InvalidSignatureException'
            ? 'SignatureDoesNotMatch'
            : failure.code;
    state.recordCall({ operation: op, at, request: undefined, errorCode: code });
    return stsError(res, 403, code, failure.message, requestId);
  }
  if (action !== 'AssumeRole') {
    state.recordCall({ operation: op, at, request: undefined, errorCode: 'InvalidAction' });
    return stsError(res, 400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`, requestId);
  }
  const roleArn = form.get('RoleArn') ?? '';
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(.+)$/.exec(roleArn);
  const serial = form.get('SerialNumber') ?? undefined;
  const code = form.get('TokenCode') ?? undefined;
  const request = { roleArn, serialNumber: serial ?? null, tokenCode: code === undefined ? null : '(given)' };
  if (m === null) {
    state.recordCall({ operation: op, at, request, errorCode: 'ValidationError' });
    return stsError(res, 400, 'ValidationError', `${roleArn} is invalid`, requestId);
  }
  const caller = callerOf(identity, auth);
  if (identity.roleNeedsMfa(roleArn)) {
    if (serial === undefined || code === undefined || code !== identity.settings.mfaCode) {
      state.recordCall({ operation: op, at, request, errorCode: 'AccessDenied' });
      return stsError(
        res,
        403,
        'AccessDenied',
        code === undefined
          ? `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`
          : 'MultiFactorAuthentication failed with invalid MFA one time pass code.',
        requestId,
      );
    }
  }
  const session = form.get('RoleSessionName') ?? 'session';
  const c = identity.issueCredentials(
    m[1] as string,
    `arn:aws:sts::${m[1] as string}:assumed-role/${m[2] as string}/${session}`,
  );
  state.recordCall({ operation: op, at, request });
  return send(res, 200, assumeRoleXml(c, requestId));
}

/** Handle one identity request (see `isIdentityRequest`). */
export function createIdentityHandler(state: EmulatorState, identity: IdentityStore) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = url.pathname;
    const work = async (): Promise<void> => {
      if (OIDC_PATHS.has(path) && req.method === 'POST') return oidc(state, identity, path, req, res);
      if (path === '/federation/credentials' || path === '/logout') return void portal(state, identity, path, req, res);
      if (path === '/device') {
        const code = url.searchParams.get('user_code') ?? undefined;
        const ok = code !== undefined && identity.approve(code);
        res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' });
        return void res.end(ok ? 'Signed in: you can close this window.\n' : 'No pending sign-in with that code.\n');
      }
      if (path === '/_emulator/identity/expire' && req.method === 'POST') {
        identity.expireAll();
        res.writeHead(204);
        return void res.end();
      }
      if (path === '/' && req.method === 'POST') return sts(state, identity, req, res);
      portalError(
        res,
        404,
        'UnknownOperationException',
        `${req.method ?? 'GET'} ${path} is not served by the emulator`,
      );
    };
    work().catch(() => {
      if (!res.headersSent) portalError(res, 500, 'InternalServerException', 'An internal error occurred.');
      else res.destroy();
    });
  };
}
