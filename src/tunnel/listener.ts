/**
 * Local listeners of one forward: one `net.Server` per bind address, all on the same port.
 *
 * Default addresses are 127.0.0.1 and ::1 because clients disagree on what `localhost` is
 * (Go and old Node pick IPv4, newer Node and browsers may pick ::1). A missing IPv6 stack is
 * tolerated for the default list only. `auto` (or a busy preferred port with fallback
 * allowed) asks `get-port` for a free port; the port actually bound is reported.
 */
import { createServer, isIP, type Server, type Socket } from 'node:net';
import getPort from 'get-port';
import { ForwardError } from '../errors.js';
import { DEFAULT_BIND } from './forward-spec.js';
import { isLoopbackName } from '../loopback.js';

export interface BoundAddress {
  address: string;
  port: number;
}

export interface ListenerOptions {
  bind?: readonly string[];
  port: number | 'auto';
  allowBusyFallback?: boolean;
  onConnection: (socket: Socket) => void;
}

export interface ListenResult {
  addresses: BoundAddress[];
  port: number;
  /** The preferred port was busy and another was picked. */
  fellBack: boolean;
  /** Human lines: non-loopback binds, skipped addresses. */
  warnings: string[];
}

function errno(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function listenOne(address: string, port: number, onConnection: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a local EOF must become an smux FIN while the other direction keeps flowing.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
    const onError = (err: Error): void => {
      server.close();
      reject(err);
    };
    server.once('error', onError);
    // ipv6Only: ::1 and 127.0.0.1 on the same port are two separate sockets.
    server.listen({ host: address, port, exclusive: true, ipv6Only: isIP(address) === 6 }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

export class TunnelListener {
  readonly #opts: ListenerOptions;
  #servers: Server[] = [];
  #addresses: BoundAddress[] = [];

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  get addresses(): BoundAddress[] {
    return this.#addresses.slice();
  }

  get listening(): boolean {
    return this.#servers.length > 0;
  }

  async listen(): Promise<ListenResult> {
    const explicit = this.#opts.bind !== undefined && this.#opts.bind.length > 0;
    const bind = explicit ? (this.#opts.bind as readonly string[]) : DEFAULT_BIND;
    const warnings: string[] = [];
    for (const a of bind) {
      if (!isLoopbackName(a)) {
        warnings.push(
          `listening on ${a}, which is not a loopback address: anyone who can reach it can use this tunnel`,
        );
      }
    }
    let fellBack = false;
    let port: number;
    const preferred = this.#opts.port;
    if (preferred === 'auto') port = await getPort();
    else port = preferred;

    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const servers = await this.#bindAll(bind, port, explicit, warnings);
        this.#servers = servers;
        this.#addresses = servers.map((s) => {
          const a = s.address();
          return typeof a === 'object' && a !== null ? { address: a.address, port: a.port } : { address: '', port };
        });
        const bound = this.#addresses[0]?.port ?? port;
        return { addresses: this.addresses, port: bound, fellBack, warnings };
      } catch (err) {
        if (errno(err) !== 'EADDRINUSE') {
          throw new ForwardError(
            'ERR_TUNNEL_BIND_FAILED',
            `cannot listen on ${bind.join(', ')} port ${port}: ${(err as Error).message}`,
            {
              cause: err,
              details: { port },
            },
          );
        }
        const mayPickAnother = preferred === 'auto' || this.#opts.allowBusyFallback === true;
        if (!mayPickAnother) {
          throw new ForwardError(
            'ERR_TUNNEL_PORT_IN_USE',
            `local port ${port} is already in use (pick another port, or use localPort: auto)`,
            {
              cause: err,
              details: { port },
            },
          );
        }
        if (preferred !== 'auto') fellBack = true;
        // Another process won the race for the port get-port found (or the preferred one is busy).
        port = await getPort({ exclude: [port] });
      }
    }
    throw new ForwardError('ERR_TUNNEL_PORT_IN_USE', `could not find a free local port after 5 attempts`, {
      details: { port },
    });
  }

  async #bindAll(bind: readonly string[], port: number, explicit: boolean, warnings: string[]): Promise<Server[]> {
    const servers: Server[] = [];
    try {
      for (const address of bind) {
        try {
          servers.push(await listenOne(address, port, this.#opts.onConnection));
        } catch (err) {
          const code = errno(err);
          // A host without IPv6 (containers) cannot bind ::1: fine when it was only our default.
          if (!explicit && isIP(address) === 6 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
            warnings.push(`skipped ${address}: ${(err as Error).message}`);
            continue;
          }
          throw err;
        }
      }
      if (servers.length === 0) throw new Error(`no address of ${bind.join(', ')} could be bound`);
      return servers;
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      throw err;
    }
  }

  /** Stop accepting. Established connections are not touched (the forward closes them). */
  async close(): Promise<void> {
    const servers = this.#servers;
    this.#servers = [];
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
