/**
 * How `tunnel` reaches AWS: proxy, trusted CAs and timeouts, for the SDK's API calls (SSM, KMS)
 * and for the data-channel websocket alike. The settings in effect are one plain object
 * (`networkInEffect`), so `tunnel doctor` can show them and every connection uses the same.
 *
 * Proxy: `proxy:` in the config `defaults` or `--proxy` (settings.proxy) wins; otherwise
 * `HTTPS_PROXY` / `https_proxy` for https:// and wss:// URLs and, for plain http:// and ws://
 * (loopback only), `HTTP_PROXY` / `http_proxy` falling back to the https variable. Every
 * connection goes through the proxy with HTTP CONNECT (a tunnel; TLS stays end to end), loopback
 * destinations included, as curl does, unless `NO_PROXY` / `no_proxy` names the host: a
 * comma-separated list of host names (`example.com` also covers its subdomains, `.example.com`
 * only them), IP addresses, optional `:port`, or `*` for everything.
 *
 * CA bundles: `AWS_CA_BUNDLE`, `ca_bundle` of the AWS profile, and `NODE_EXTRA_CA_CERTS` are
 * each added to Node's built-in roots (never replacing them).
 *
 * Timeouts: every API attempt has a connect timeout (default 5 s) and a response timeout
 * (default 10 s), and the whole call, retries included, a deadline (`settings.timeoutMs`, the
 * CLI's `--timeout`; default 20 s): a silent endpoint ends as `ERR_AWS_TIMEOUT`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isIP, connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type ConnectionOptions } from 'node:tls';
import type { ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Agent as BaseAgent, type AgentConnectOpts } from 'agent-base';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { AwsError } from '../errors.js';
import type { AwsSettings } from './settings.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 10_000;
export const DEFAULT_CALL_TIMEOUT_MS = 20_000;

export interface ProxyInEffect {
  /** The proxy URL with any user:password replaced by `***`. */
  url: string;
  /** `--proxy`, `proxy:` (config), `$HTTPS_PROXY`, … */
  source: string;
}

/** The network settings in effect (no secrets): what `tunnel doctor` shows. */
export interface NetworkInEffect {
  /** For https:// and wss:// destinations. */
  httpsProxy?: ProxyInEffect;
  /** For plain http:// and ws:// destinations (loopback only). */
  httpProxy?: ProxyInEffect;
  /** NO_PROXY entries, lower case. */
  noProxy: string[];
  /** Extra trusted CA files, in the order read, with where each was named. */
  caBundles: Array<{ file: string; source: string }>;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Deadline of one API call, retries included. */
  callTimeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function pick(env: Env, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

function redact(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.username !== '' || u.password !== '') {
      u.username = '***';
      u.password = '';
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}

/** `ca_bundle` of the profile in effect, if the shared config names one. */
async function profileCaBundle(settings: AwsSettings, env: Env): Promise<string | undefined> {
  const profile = settings.profile ?? pick(env, 'AWS_PROFILE')?.value ?? 'default';
  const configFilepath = pick(env, 'AWS_CONFIG_FILE')?.value ?? join(homedir(), '.aws', 'config');
  const files = await loadSharedConfigFiles({ configFilepath, filepath: '/dev/null', ignoreCache: true }).catch(
    () => undefined,
  );
  const v = files?.configFile[profile]?.['ca_bundle'];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** The settings in effect for these AWS settings (reads the shared config for `ca_bundle`). */
export async function networkInEffect(settings: AwsSettings): Promise<NetworkInEffect> {
  const env: Env = settings.env ?? process.env;
  const out: NetworkInEffect = {
    noProxy: (pick(env, 'NO_PROXY', 'no_proxy')?.value ?? '')
      .split(/[\s,]+/)
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e !== ''),
    caBundles: [],
    connectTimeoutMs: Math.min(settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, callTimeout(settings)),
    responseTimeoutMs: Math.min(settings.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS, callTimeout(settings)),
    callTimeoutMs: callTimeout(settings),
  };
  if (settings.proxy !== undefined && settings.proxy !== '') {
    const p = { url: redact(settings.proxy), source: settings.proxySource ?? 'proxy setting' };
    out.httpsProxy = p;
    out.httpProxy = p;
  } else {
    const https = pick(env, 'HTTPS_PROXY', 'https_proxy');
    const http = pick(env, 'HTTP_PROXY', 'http_proxy') ?? https;
    if (https !== undefined) out.httpsProxy = { url: redact(https.value), source: `$${https.name}` };
    if (http !== undefined) out.httpProxy = { url: redact(http.value), source: `$${http.name}` };
  }
  const aws = pick(env, 'AWS_CA_BUNDLE');
  if (aws !== undefined) out.caBundles.push({ file: aws.value, source: '$AWS_CA_BUNDLE' });
  else {
    const fromProfile = await profileCaBundle(settings, env);
    if (fromProfile !== undefined) out.caBundles.push({ file: fromProfile, source: 'ca_bundle in the AWS profile' });
  }
  const extra = pick(env, 'NODE_EXTRA_CA_CERTS');
  if (extra !== undefined) out.caBundles.push({ file: extra.value, source: '$NODE_EXTRA_CA_CERTS' });
  return out;
}

function callTimeout(settings: AwsSettings): number {
  return settings.timeoutMs !== undefined && settings.timeoutMs > 0 ? settings.timeoutMs : DEFAULT_CALL_TIMEOUT_MS;
}

/** True when NO_PROXY sends `host:port` direct. */
export function bypassesProxy(noProxy: readonly string[], host: string, port: number): boolean {
  const h = host
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  return noProxy.some((entry) => {
    if (entry === '*') return true;
    let name = entry;
    let entryPort: number | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m?.[1] !== undefined && isIP(entry) !== 6) {
      name = m[1];
      entryPort = Number(m[2]);
    }
    name = name.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (entryPort !== undefined && entryPort !== port) return false;
    if (name.startsWith('.')) return h.endsWith(name);
    return h === name || (isIP(h) === 0 && h.endsWith(`.${name}`));
  });
}

/** Read the CA files: Node's roots plus each bundle. Throws ERR_AWS_CA_BUNDLE. */
function loadCa(bundles: NetworkInEffect['caBundles']): string[] | undefined {
  if (bundles.length === 0) return undefined;
  const ca = [...rootCertificates];
  for (const b of bundles) {
    let text: string;
    try {
      text = readFileSync(b.file, 'utf8');
    } catch (e) {
      throw new AwsError('ERR_AWS_CA_BUNDLE', `cannot read the CA bundle ${b.file} (from ${b.source}): ${String(e)}`, {
        details: { file: b.file, source: b.source },
      });
    }
    const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (certs.length === 0) {
      throw new AwsError('ERR_AWS_CA_BUNDLE', `the CA bundle ${b.file} (from ${b.source}) holds no PEM certificate`, {
        details: { file: b.file, source: b.source },
      });
    }
    ca.push(...certs);
  }
  return ca;
}

interface ProxyRoute {
  agent: HttpsProxyAgent<string>;
  shown: ProxyInEffect;
}

function proxyRoute(raw: string | undefined, shown: ProxyInEffect | undefined, ca: string[] | undefined) {
  if (raw === undefined || shown === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new AwsError('ERR_AWS_PROXY', `the proxy ${shown.url} (from ${shown.source}) is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AwsError('ERR_AWS_PROXY', `the proxy ${shown.url} (from ${shown.source}) must be http:// or https://`);
  const agent = new HttpsProxyAgent(url.toString(), { keepAlive: true, ...(ca === undefined ? {} : { ca }) });
  return { agent, shown } satisfies ProxyRoute;
}

/**
 * One agent for every AWS connection: per request it goes direct (NO_PROXY, or no proxy for the
 * scheme) or through the proxy with CONNECT, and adds the CA list to the TLS handshake. A proxy
 * that answers CONNECT with anything but 200 fails the request with ERR_AWS_PROXY (instead of
 * handing its answer to the caller as if the endpoint had said it).
 */
class RoutingAgent extends BaseAgent {
  readonly #https: ProxyRoute | undefined;
  readonly #http: ProxyRoute | undefined;
  readonly #noProxy: readonly string[];
  readonly #ca: string[] | undefined;

  constructor(net: NetworkInEffect, raw: { https?: string; http?: string }, ca: string[] | undefined) {
    super({ keepAlive: true });
    this.#https = proxyRoute(raw.https, net.httpsProxy, ca);
    this.#http = proxyRoute(raw.http, net.httpProxy, ca);
    this.#noProxy = net.noProxy;
    this.#ca = ca;
  }

  override async connect(req: ClientRequest, opts: AgentConnectOpts): Promise<Socket> {
    const host = opts.host ?? 'localhost';
    const port = opts.port ?? (opts.secureEndpoint ? 443 : 80);
    const route = opts.secureEndpoint ? this.#https : this.#http;
    const withCa = this.#ca === undefined ? opts : { ...opts, ca: this.#ca };
    if (route === undefined || bypassesProxy(this.#noProxy, host, port)) {
      if (opts.secureEndpoint) {
        const tlsOpts: ConnectionOptions = { ...withCa, host, port };
        if (isIP(host) === 0) tlsOpts.servername = host;
        return tlsConnect(tlsOpts);
      }
      const tcpOpts: NetConnectOpts = { ...opts, host, port };
      return netConnect(tcpOpts);
    }
    let status: number | undefined;
    let statusText = '';
    const onConnect = (c: { statusCode: number; statusText?: string }): void => {
      status = c.statusCode;
      statusText = c.statusText ?? '';
    };
    req.once('proxyConnect', onConnect);
    let socket: Socket;
    try {
      socket = await route.agent.connect(req, withCa);
    } catch (e) {
      throw new AwsError(
        'ERR_AWS_PROXY',
        `cannot reach the proxy ${route.shown.url} (from ${route.shown.source}): ${(e as Error).message}`,
        { cause: e, details: { proxy: route.shown.url } },
      );
    } finally {
      req.off('proxyConnect', onConnect);
    }
    if (status !== undefined && status !== 200) {
      socket.destroy();
      throw new AwsError(
        'ERR_AWS_PROXY',
        `the proxy ${route.shown.url} (from ${route.shown.source}) refused CONNECT ${host}:${port}: HTTP ${status} ${statusText}`.trim(),
        { details: { proxy: route.shown.url, httpStatus: status, destination: `${host}:${port}` } },
      );
    }
    return socket;
  }
}

/** An agent whose every connection fails with `error` (a bad CA file or proxy URL). */
class FailingAgent extends BaseAgent {
  readonly #error: unknown;
  constructor(error: unknown) {
    super();
    this.#error = error;
  }
  override connect(): Promise<Socket> {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- network()'s rejection, passed on unchanged
    return Promise.reject(this.#error);
  }
}

/** Proxy, CA and timeouts resolved once, shared by the API clients and the websocket. */
export interface Network {
  inEffect: NetworkInEffect;
  /** Agent for every request (direct or proxied), or undefined when neither proxy nor CA is set. */
  agent: RoutingAgent | undefined;
  /** Built-in roots plus the CA bundles, or undefined for Node's defaults. */
  ca: string[] | undefined;
}

/** Resolve the network settings (reads CA files). Throws ERR_AWS_CA_BUNDLE / ERR_AWS_PROXY. */
export async function resolveNetwork(settings: AwsSettings): Promise<Network> {
  const inEffect = await networkInEffect(settings);
  const env: Env = settings.env ?? process.env;
  const ca = loadCa(inEffect.caBundles);
  const raw: { https?: string; http?: string } = {};
  if (settings.proxy !== undefined && settings.proxy !== '') {
    raw.https = settings.proxy;
    raw.http = settings.proxy;
  } else {
    const https = pick(env, 'HTTPS_PROXY', 'https_proxy');
    const http = pick(env, 'HTTP_PROXY', 'http_proxy') ?? https;
    if (https !== undefined) raw.https = https.value;
    if (http !== undefined) raw.http = http.value;
  }
  const proxied = raw.https !== undefined || raw.http !== undefined;
  const agent = proxied ? new RoutingAgent(inEffect, raw, ca) : undefined;
  return { inEffect, agent, ca };
}

/** Memoized `resolveNetwork` for one settings object. */
export function networkFor(settings: AwsSettings): () => Promise<Network> {
  let p: Promise<Network> | undefined;
  return () => {
    p ??= resolveNetwork(settings);
    return p;
  };
}

/**
 * The SDK request handler: connect and response timeouts, the routing agent (proxy) or an
 * https agent with the CA list. Resolved on the first request, so a bad CA file or proxy URL
 * fails that request with its own error.
 */
export function createRequestHandler(network: () => Promise<Network>): NodeHttpHandler {
  return new NodeHttpHandler(async () => {
    let net: Network;
    try {
      net = await network();
    } catch (e) {
      // The handler must not reject its options (nobody awaits them yet: an unhandled
      // rejection); every request fails with the error instead.
      const failing = new FailingAgent(e);
      return { httpAgent: failing, httpsAgent: failing };
    }
    const httpsAgent =
      net.agent ?? new HttpsAgent({ keepAlive: true, ...(net.ca === undefined ? {} : { ca: net.ca }) });
    return {
      connectionTimeout: net.inEffect.connectTimeoutMs,
      requestTimeout: net.inEffect.responseTimeoutMs,
      throwOnRequestTimeout: true,
      httpsAgent,
      ...(net.agent === undefined ? {} : { httpAgent: net.agent }),
    };
  });
}

/**
 * Run one API call under its deadline: after `ms` it rejects with ERR_AWS_TIMEOUT (the
 * request's own timeouts end the socket soon after).
 */
export async function withDeadline<T>(operation: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AwsError('ERR_AWS_TIMEOUT', `${operation}: no answer within ${ms} ms (the call's deadline)`, {
            details: { operation, timeoutMs: ms },
          }),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([fn(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
