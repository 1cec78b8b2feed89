/**
 * Check 3, clock: this machine's clock against the service's `Date` header. SigV4 signatures
 * carry the signing time; AWS refuses requests whose time is off by more than a few minutes
 * ("Signature expired" / "not yet current"). The SDK corrects its own offset after a refusal,
 * but the error, the retry and every other tool on the machine suffer, and expiry times lie.
 */
import { proxyFor, netSettings } from './net-settings.js';
import { probeDate } from './net-probe.js';
import { errorText, fail, pass, warn, type Check, type DoctorContext } from './types.js';
import { resolveSsmEndpoint } from '../../aws/settings.js';

/** Beyond this, SigV4 requests start being refused. */
export const SKEW_FAIL_MS = 5 * 60_000;
/** Beyond this, worth fixing before it grows. */
export const SKEW_WARN_MS = 60_000;

export const CLOCK_FIX =
  'sync the clock: `sudo timedatectl set-ntp true` (Linux), `sudo sntp -sS time.apple.com` (macOS), `w32tm /resync` (Windows)';

/** The SSM API endpoint in effect: the setting, or the regional default. Throws for an insecure one. */
export function ssmEndpoint(ctx: DoctorContext): URL | undefined {
  const custom = resolveSsmEndpoint(ctx.aws);
  if (custom !== undefined) return new URL(custom);
  return ctx.region === undefined ? undefined : new URL(`https://ssm.${ctx.region}.amazonaws.com`);
}

function span(ms: number): string {
  const a = Math.abs(ms);
  return a >= 120_000 ? `${Math.round(a / 60_000)} min` : `${Math.round(a / 1000)} s`;
}

export const clockCheck: Check = {
  id: 'clock',
  scope: 'global',
  needs: [],
  timeoutMs: 10_000,
  timeoutFix: 'check the network path to the SSM endpoint (see the endpoints check)',
  async run(ctx) {
    let url: URL | undefined;
    try {
      url = ssmEndpoint(ctx);
    } catch (err) {
      return fail(`cannot use the SSM endpoint: ${errorText(err)}`, 'fix --endpoint / AWS_ENDPOINT_URL_SSM');
    }
    if (url === undefined)
      return fail('no region: the SSM endpoint is unknown', 'set --region, AWS_REGION or `region` in the profile');
    let probe;
    try {
      probe = await probeDate(
        url,
        proxyFor(netSettings(ctx.io.env), url.hostname),
        () => ctx.clock.wallNow(),
        ctx.signal,
      );
    } catch (err) {
      return warn(
        `could not read the service's clock from ${url.host}: ${errorText(err)}`,
        'see the endpoints check; then run `tunnel doctor` again',
      );
    }
    if (probe === undefined)
      return warn(
        `${url.host} answered without a Date header`,
        'check --endpoint: it does not look like an AWS endpoint',
      );
    // The Date header has one-second resolution.
    const skew = probe.serverMs - probe.localMs;
    const details = {
      skewMs: Math.round(skew),
      serverDate: new Date(probe.serverMs).toISOString(),
      endpoint: url.host,
    };
    const where = skew > 0 ? 'behind' : 'ahead of';
    if (Math.abs(skew) > SKEW_FAIL_MS)
      return fail(
        `this machine's clock is ${span(skew)} ${where} the service (${url.host}): SigV4 requests are refused`,
        CLOCK_FIX,
        details,
      );
    if (Math.abs(skew) > SKEW_WARN_MS)
      return warn(`this machine's clock is ${span(skew)} ${where} the service (${url.host})`, CLOCK_FIX, details);
    return pass(
      `within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s of the service's clock (${url.host})`,
      details,
    );
  },
};
