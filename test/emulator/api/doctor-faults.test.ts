/**
 * The emulator features `tunnel doctor` is tested against, through the real AWS SDK: STS
 * GetCallerIdentity (query protocol, SigV4 service `sts`), and the faults clockSkewMs,
 * expiredToken and StartSession denied per document; plus their option validation.
 */
import t from 'tap';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { StartSessionCommand } from '@aws-sdk/client-ssm';
import { resolveEmulatorOptions } from '../../../src/emulator/options.js';
import { isTunnelError } from '../../../src/errors.js';
import { ssmClient, withEmulator } from '../../helpers/emulator.js';
import type { Emulator } from '../../../src/emulator/index.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

function sts(emu: Emulator, secret?: string): STSClient {
  return new STSClient({
    endpoint: emu.endpoint,
    region: emu.region,
    credentials: { ...emu.credentials, ...(secret === undefined ? {} : { secretAccessKey: secret }) },
    maxAttempts: 1,
  });
}

async function errorOf(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  throw new Error('expected a failure');
}

t.test('STS GetCallerIdentity answers with the emulated IAM user', async (t) => {
  const emu = await withEmulator(t);
  const client = sts(emu);
  t.teardown(() => client.destroy());
  const out = await client.send(new GetCallerIdentityCommand({}));
  t.equal(out.Arn, 'arn:aws:iam::123456789012:user/emulator');
  t.equal(out.Account, '123456789012');
  t.match(out.UserId, /^AIDA/);
  t.match(emu.state.calls.at(-1), { operation: 'sts:GetCallerIdentity' });
  t.equal(emu.state.calls.at(-1)?.errorCode, undefined);
});

t.test('STS refuses a bad signature with the query protocol code', async (t) => {
  const emu = await withEmulator(t);
  const client = sts(emu, 'not-the-secret-key-at-all-0000000000000');
  t.teardown(() => client.destroy());
  const e = await errorOf(client.send(new GetCallerIdentityCommand({})));
  t.equal(e.name, 'SignatureDoesNotMatch');
  t.match(e.message, 'The request signature we calculated does not match');
});

t.test('expiredToken: SSM and STS refuse every signed call as AWS does', async (t) => {
  const emu = await withEmulator(t, { faults: { expiredToken: true } });
  const client = sts(emu);
  const ssm = ssmClient(emu);
  t.teardown(() => {
    client.destroy();
    ssm.destroy();
  });
  const a = await errorOf(client.send(new GetCallerIdentityCommand({})));
  t.equal(a.name, 'ExpiredToken');
  t.equal(a.message, 'The security token included in the request is expired');
  const b = await errorOf(
    ssm.send(
      new StartSessionCommand({ Target: 'i-0123456789abcdef0', DocumentName: 'AWS-StartPortForwardingSession' }),
    ),
  );
  t.equal(b.name, 'ExpiredTokenException');
  emu.faults = {};
  t.equal((await client.send(new GetCallerIdentityCommand({}))).Account, '123456789012', 'cleared at run time');
});

t.test('clockSkewMs: the Date header and the SigV4 window follow the service clock', async (t) => {
  const emu = await withEmulator(t, { faults: { clockSkewMs: 30 * 60_000 } });
  const res = await fetch(emu.endpoint, { method: 'POST', body: '{}' });
  await res.arrayBuffer();
  const skew = Date.parse(res.headers.get('date') ?? '') - Date.now();
  t.ok(skew > 29 * 60_000 && skew < 31 * 60_000, `Date is 30 min ahead (${skew} ms)`);
  const ssm = ssmClient(emu); // one attempt: no clock correction retry
  t.teardown(() => ssm.destroy());
  const e = await errorOf(
    ssm.send(
      new StartSessionCommand({ Target: 'i-0123456789abcdef0', DocumentName: 'AWS-StartPortForwardingSession' }),
    ),
  );
  t.equal(e.name, 'InvalidSignatureException');
  t.match(e.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than/);
});

t.test('accessDeny on a document refuses StartSession with that document only', async (t) => {
  const emu = await withEmulator(t, {
    accessDeny: [{ action: 'ssm:StartSession', resource: 'AWS-StartPortForwardingSessionToRemoteHost' }],
  });
  const ssm = ssmClient(emu);
  t.teardown(() => ssm.destroy());
  const e = await errorOf(
    ssm.send(
      new StartSessionCommand({
        Target: 'i-0123456789abcdef0',
        DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
        Parameters: { host: ['db.internal'], portNumber: ['5432'] },
      }),
    ),
  );
  t.equal(e.name, 'AccessDeniedException');
  t.match(e.message, 'on resource: arn:aws:ssm:us-east-1::document/AWS-StartPortForwardingSessionToRemoteHost');
  const ok = await ssm.send(
    new StartSessionCommand({ Target: 'i-0123456789abcdef0', DocumentName: 'AWS-StartPortForwardingSession' }),
  );
  t.ok(ok.SessionId);
});

t.test('the new fault settings are validated', async (t) => {
  const bad = [
    { clockSkewMs: 'ten' },
    { clockSkewMs: Infinity },
    { expiredToken: 'yes' },
    { unresolvableHosts: 'db.internal' },
    { unresolvableHosts: [1] },
  ];
  for (const faults of bad) {
    let err: unknown;
    try {
      resolveEmulatorOptions({ faults: faults as never });
    } catch (e) {
      err = e;
    }
    t.ok(isTunnelError(err, 'ERR_EMULATOR_CONFIG'), JSON.stringify(faults));
  }
  const ok = resolveEmulatorOptions({
    faults: { clockSkewMs: -60_000, expiredToken: true, unresolvableHosts: ['db.internal'] },
  });
  t.same(ok.faults, { clockSkewMs: -60_000, expiredToken: true, unresolvableHosts: ['db.internal'] });
});
