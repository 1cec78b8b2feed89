/**
 * `startEmulator(options)`: the embedded AWS Session Manager emulator on loopback.
 *
 * One HTTP server serves the SSM (and KMS) JSON API on `POST /` and the data-channel websockets
 * on `/v1/data-channel/<SessionId>`; behind each session runs an emulated agent with the Port
 * plugin. Point the AWS SDK (or the AWS CLI with the official plugin) at `endpoint` with
 * `credentials` and `region`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { readBody } from './api/wire.js';
import { EmulatorError } from '../errors.js';
import { createApiHandler } from './api/ssm-api.js';
import { createIdentityHandler, isIdentityRequest } from './identity/identity-api.js';
import type { IdentityStore } from './identity/identity-store.js';
import { createQueryApiHandler, isDatabaseQueryRequest } from './api/query-api.js';
import { createStsHandler, isQueryProtocolRequest } from './api/sts-api.js';
import type { EmulatorEvents } from './gateway/events.js';
import { Gateway } from './gateway/gateway.js';
import type { GatewaySession, RestartAgentOptions } from './gateway/gateway-session.js';
import { resolveEmulatorOptions, type EmulatorOptions, type FaultSettings, type PingStatus } from './options.js';
import { EmulatorState } from './state.js';

export interface Emulator {
  /** `http://127.0.0.1:PORT`: the SSM endpoint (AWS_ENDPOINT_URL_SSM). */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** The only credentials the SigV4 check accepts. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly state: EmulatorState;
  /**
   * The sign-in side (issue #15): SSO OIDC, the portal and STS on this same endpoint
   * (AWS_ENDPOINT_URL_SSO_OIDC / _SSO / _STS). `identity.approve(userCode)` is the test hook
   * that approves a pending device code; `identity.expireAll()` ends every sign-in at once.
   */
  readonly identity: IdentityStore;
  /**
   * Runtime fault knobs: reads and replaces `state.faults`. Changes apply at once, including the
   * per-socket timers of attached sockets (counted from when each attached).
   */
  faults: FaultSettings;
  /** Observation hooks (see gateway/events.ts). */
  readonly events: EventEmitter<EmulatorEvents>;
  /** Websockets refused by the gateway (ERR_EMULATOR_BAD_TOKEN), oldest first. */
  readonly errors: readonly EmulatorError[];
  /** End a session as the TerminateSession API does (channel_closed with `output`, default ''). */
  terminate(sessionId: string, output?: string): void;
  /** Restart the agent side of a session (see GatewaySession.restartAgent). */
  restartAgent(sessionId: string, options?: RestartAgentOptions): void;
  /** Mark an instance's ping status (e.g. 'ConnectionLost': StartSession then fails with TargetNotConnected). */
  setInstancePingStatus(instanceId: string, status: PingStatus): void;
  /** The gateway's view of a session, for tests (attached?, relay counters, agent). */
  gatewaySession(sessionId: string): GatewaySession | undefined;
  /** channel_closed to every attached client, close everything; resolves when the port is closed. */
  close(): Promise<void>;
}

/** Internal knobs for tests (not part of the config file). */
export interface StartEmulatorInternals {
  /** Agent handshake timeout (default 15 s). */
  handshakeTimeoutMs?: number;
  /** Resolver used by the agent for remote hosts (default dns.lookup). */
  resolve?: (host: string) => Promise<string[]>;
}

export async function startEmulator(
  options: EmulatorOptions = {},
  internals: StartEmulatorInternals = {},
): Promise<Emulator> {
  const resolved = resolveEmulatorOptions(options);
  const state = new EmulatorState(resolved);
  const events = new EventEmitter<EmulatorEvents>();
  const errors: EmulatorError[] = [];
  const gatewayOptions: ConstructorParameters<typeof Gateway>[0] = { state, events, errors };
  if (internals.handshakeTimeoutMs !== undefined) gatewayOptions.handshakeTimeoutMs = internals.handshakeTimeoutMs;
  if (internals.resolve) gatewayOptions.resolve = internals.resolve;
  const gateway = new Gateway(gatewayOptions);
  const api = createApiHandler(state);
  const identity = createIdentityHandler(state, state.identity);
  const queryApi = createQueryApiHandler(state);
  const sts = createStsHandler(state);

  /** Read the form once, then hand a replay of it to the handler of its Action. */
  const routeQuery = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      res.destroy();
      return;
    }
    const action = new URLSearchParams(body.toString('utf8')).get('Action');
    const replay = Object.assign(Readable.from([body]), {
      headers: req.headers,
      method: req.method,
      url: req.url,
      socket: req.socket,
    }) as unknown as IncomingMessage;
    if (action === 'AssumeRole') identity(replay, res);
    else sts(replay, res);
  };

  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    if (isIdentityRequest(req, path)) return identity(req, res);
    // STS, RDS and ElastiCache speak the query protocol (form body, no X-Amz-Target); the SigV4
    // scope says which (issue #19: rds, elasticache); STS (GetCallerIdentity, and AssumeRole for
    // the sign-in side, issue #15) otherwise. Everything else is JSON.
    if (req.method === 'POST' && path === '/' && isQueryProtocolRequest(req))
      return isDatabaseQueryRequest(req) ? queryApi(req, res) : void routeQuery(req, res);
    if (req.method === 'POST' && path === '/') return api(req, res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        __type: 'UnknownOperationException',
        message: `${req.method ?? 'GET'} ${path} is not served by the emulator`,
      }),
    );
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('upgrade', gateway.handleUpgrade);
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = `port ${resolved.port} on ${resolved.host}`;
      reject(
        e.code === 'EADDRINUSE'
          ? new EmulatorError(
              'ERR_EMULATOR_PORT_IN_USE',
              `${where} is already in use (pick another, or 0 for any free port)`,
              { cause: e },
            )
          : new EmulatorError('ERR_EMULATOR_LISTEN', `cannot listen on ${where}: ${e.code ?? e.message}`, { cause: e }),
      );
    });
    server.listen(resolved.port, resolved.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // Bound to a wildcard (0.0.0.0, ::): clients on this machine reach it on loopback, and
  // loopback is the only place tunnel speaks plain http/ws to, so that is the URL to hand out.
  const urlHost = resolved.host === '0.0.0.0' ? '127.0.0.1' : resolved.host === '::' ? '::1' : resolved.host;
  const hostInUrl = urlHost.includes(':') ? `[${urlHost}]` : urlHost;
  state.setDataChannelBaseUrl(`ws://${hostInUrl}:${port}`);

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${hostInUrl}:${port}`,
    port,
    region: resolved.region,
    credentials: { ...resolved.credentials },
    state,
    identity: state.identity,
    get faults(): FaultSettings {
      return state.faults;
    },
    set faults(f: FaultSettings) {
      state.faults = { ...f };
      gateway.faultsChanged();
    },
    events,
    errors,
    terminate(sessionId: string, output = ''): void {
      state.terminateSession(sessionId, output);
    },
    restartAgent(sessionId: string, o?: RestartAgentOptions): void {
      gateway.restartAgent(sessionId, o);
    },
    setInstancePingStatus(instanceId: string, status: PingStatus): void {
      state.setInstance(instanceId, { pingStatus: status });
    },
    gatewaySession(sessionId: string): GatewaySession | undefined {
      return gateway.session(sessionId);
    },
    close(): Promise<void> {
      closing ??= (async () => {
        await gateway.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
          for (const s of sockets) s.destroy();
        });
      })();
      return closing;
    },
  };
}
