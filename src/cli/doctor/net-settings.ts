/**
 * The proxy and CA settings in the environment, as `tunnel doctor` reports and uses them.
 *
 * Extension point (issue #14): when tunnel itself routes the SSM API and the data channel through
 * a proxy, `PROXY_APPLIED` becomes true (or this module reads the settings from that code), and
 * the runtime check stops warning that the proxy is ignored.
 */

import { isLoopbackName } from '../../loopback.js';
/** Does this build send its own traffic (SDK calls, data channel) through HTTPS_PROXY? */
export const PROXY_APPLIED = false;

export interface ProxySetting {
  /** The variable it came from (`HTTPS_PROXY`, `https_proxy`, …). */
  variable: string;
  /** The URL with any user:password removed, or the raw text when it is not a URL. */
  display: string;
  url: URL | undefined;
}

export interface NetSettings {
  httpsProxy?: ProxySetting;
  noProxy: string[];
  /** NODE_EXTRA_CA_CERTS, AWS_CA_BUNDLE when set. */
  caFiles: Array<{ variable: string; path: string }>;
  tlsVerifyOff: boolean;
}

function pick(env: Readonly<Record<string, string | undefined>>, names: string[]): [string, string] | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return [n, v.trim()];
  }
  return undefined;
}

export function netSettings(env: Readonly<Record<string, string | undefined>>): NetSettings {
  const out: NetSettings = { noProxy: [], caFiles: [], tlsVerifyOff: env['NODE_TLS_REJECT_UNAUTHORIZED'] === '0' };
  const p = pick(env, ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']);
  if (p !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(p[1].includes('://') ? p[1] : `http://${p[1]}`);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') url = undefined;
    } catch {
      url = undefined;
    }
    // Never print a proxy password.
    const display = url === undefined ? p[1].replace(/\/\/[^@/]*@/, '//***@') : `${url.protocol}//${url.host}`;
    out.httpsProxy = { variable: p[0], display, url };
  }
  const np = pick(env, ['NO_PROXY', 'no_proxy']);
  if (np !== undefined)
    out.noProxy = np[1]
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== '');
  for (const v of ['NODE_EXTRA_CA_CERTS', 'AWS_CA_BUNDLE']) {
    const path = env[v];
    if (path !== undefined && path !== '') out.caFiles.push({ variable: v, path });
  }
  return out;
}

/** The proxy to use for `host`, or undefined (no proxy, NO_PROXY match, loopback). */
export function proxyFor(settings: NetSettings, host: string): URL | undefined {
  const url = settings.httpsProxy?.url;
  if (url === undefined || isLoopbackName(host)) return undefined;
  const h = host.toLowerCase();
  for (const entry of settings.noProxy) {
    if (entry === '*') return undefined;
    const bare = entry.replace(/^\*?\./, '').replace(/:\d+$/, '');
    if (h === bare || h.endsWith(`.${bare}`)) return undefined;
  }
  return url;
}
