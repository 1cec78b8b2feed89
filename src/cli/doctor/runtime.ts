/**
 * Check 1, runtime: the Node version against the one the AWS SDK will require next, and the proxy
 * and CA settings in effect.
 */
import { readFile } from 'node:fs/promises';
import { PROXY_APPLIED, netSettings } from './net-settings.js';
import type { Check, Finding } from './types.js';

/**
 * AWS SDK for JavaScript v3 releases published after the first week of January 2027 require
 * Node >= 22 (the SDK's own NodeVersionSupportWarning).
 */
export const SDK_NEXT_NODE_MAJOR = 22;
export const SDK_NEXT_NODE_FROM = 'January 2027';

type Part = { status: 'pass' | 'warn' | 'fail'; text: string; fix?: string };

function combine(parts: Part[], details: Record<string, unknown>): Finding {
  const rank = { pass: 0, warn: 1, fail: 2 } as const;
  const worst = parts.reduce((w, p) => (rank[p.status] > rank[w] ? p.status : w), 'pass' as Part['status']);
  const fixes = parts.filter((p) => p.fix !== undefined && p.status !== 'pass').map((p) => p.fix as string);
  return {
    status: worst,
    finding: parts.map((p) => p.text).join('; '),
    ...(fixes.length > 0 ? { fix: fixes.join('; ') } : {}),
    details,
  };
}

export const runtimeCheck: Check = {
  id: 'runtime',
  scope: 'global',
  needs: [],
  timeoutMs: 5_000,
  timeoutFix: 'check that the CA files named in NODE_EXTRA_CA_CERTS/AWS_CA_BUNDLE are readable',
  async run(ctx) {
    const parts: Part[] = [];
    const version = process.versions.node;
    const major = Number(version.split('.')[0]);
    if (major < SDK_NEXT_NODE_MAJOR) {
      parts.push({
        status: 'warn',
        text: `Node ${version}: AWS SDK releases after ${SDK_NEXT_NODE_FROM} require Node >= ${SDK_NEXT_NODE_MAJOR}`,
        fix: `install Node ${SDK_NEXT_NODE_MAJOR} LTS or newer (e.g. \`nvm install ${SDK_NEXT_NODE_MAJOR}\`)`,
      });
    } else parts.push({ status: 'pass', text: `Node ${version}` });

    const net = netSettings(ctx.io.env);
    const proxy = net.httpsProxy;
    if (proxy === undefined) parts.push({ status: 'pass', text: 'no proxy' });
    else if (proxy.url === undefined) {
      parts.push({
        status: 'fail',
        text: `${proxy.variable}=${proxy.display} is not an http(s) URL`,
        fix: `set ${proxy.variable} to a URL such as http://proxy.example.com:3128, or unset it`,
      });
    } else if (!PROXY_APPLIED) {
      parts.push({
        status: 'warn',
        text: `proxy ${proxy.display} (${proxy.variable}) is set, but tunnel connects directly`,
        fix: 'allow direct HTTPS (443) to ssm.REGION.amazonaws.com and ssmmessages.REGION.amazonaws.com, or use VPC endpoints',
      });
    } else parts.push({ status: 'pass', text: `proxy ${proxy.display} (${proxy.variable})` });
    if (net.noProxy.length > 0) parts.push({ status: 'pass', text: `NO_PROXY ${net.noProxy.join(',')}` });

    for (const ca of net.caFiles) {
      let text: string | undefined;
      try {
        text = await readFile(ca.path, 'utf8');
      } catch (err) {
        parts.push({
          status: 'fail',
          text: `${ca.variable}=${ca.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          fix: `point ${ca.variable} at a readable PEM bundle, or unset it`,
        });
        continue;
      }
      const count = (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
      if (count === 0) {
        parts.push({
          status: 'fail',
          text: `${ca.variable}=${ca.path} holds no PEM certificate`,
          fix: `point ${ca.variable} at a PEM file (-----BEGIN CERTIFICATE-----), or unset it`,
        });
      } else if (ca.variable === 'AWS_CA_BUNDLE') {
        parts.push({
          status: 'warn',
          text: `AWS_CA_BUNDLE=${ca.path} (${count} certificates) is not read by the AWS SDK for JavaScript`,
          fix: `export NODE_EXTRA_CA_CERTS=${ca.path}`,
        });
      } else parts.push({ status: 'pass', text: `extra CAs ${ca.path} (${count} certificates)` });
    }
    if (net.caFiles.length === 0) parts.push({ status: 'pass', text: 'system CAs' });
    if (net.tlsVerifyOff) {
      parts.push({
        status: 'warn',
        text: 'NODE_TLS_REJECT_UNAUTHORIZED=0 turns certificate checks off',
        fix: 'unset NODE_TLS_REJECT_UNAUTHORIZED and trust your proxy CA with NODE_EXTRA_CA_CERTS instead',
      });
    }
    return combine(parts, {
      node: version,
      sdkNextNodeMajor: SDK_NEXT_NODE_MAJOR,
      proxy: proxy?.display ?? null,
      proxyApplied: PROXY_APPLIED,
      noProxy: net.noProxy,
      caFiles: net.caFiles.map((c) => c.path),
    });
  },
};
