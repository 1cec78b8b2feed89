import t from 'tap';
import { once } from 'node:events';
import { ResumeSessionCommand, StartSessionCommand, TerminateSessionCommand } from '@aws-sdk/client-ssm';
import { startApiServer, sdkError, type TapLike } from '../../helpers/emulator-api-server.js';
import type { EmulatedSession } from '../../../src/emulator/state.js';

const ID = 'i-0123456789abcdef0';
const OFF = 'i-0fedcba9876543210';

async function setup(t: TapLike) {
  return startApiServer(t, {
    instances: [
      { instanceId: ID, name: 'web' },
      { instanceId: OFF, name: 'gone', pingStatus: 'ConnectionLost' },
    ],
    accessDeny: [{ action: 'ssm:StartSession', resource: 'i-0000000000000dead' }],
  });
}

t.test(
  'StartSession with AWS-StartPortForwardingSession returns id, url and token and substitutes properties',
  async (t) => {
    const api = await setup(t);
    const started = once(api.state, 'session-started');
    const out = await api.ssm().send(
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { portNumber: ['5432'], localPortNumber: ['15432'] },
      }),
    );
    t.match(out.SessionId, /^emulator-[0-9a-f]{17}$/);
    t.match(
      out.StreamUrl,
      `${api.endpoint.replace('http:', 'ws:')}/v1/data-channel/${out.SessionId}?role=publish_subscribe&cell-number=`,
    );
    t.match(new URL(out.StreamUrl ?? '').searchParams.get('cell-number'), /^[A-Za-z0-9+/]+=*$/, 'base64 cell');
    t.type(out.TokenValue, 'string');
    t.match(out.$metadata.requestId, /^[0-9a-f-]{36}$/);
    const [session] = (await started) as [EmulatedSession];
    t.equal(session.sessionId, out.SessionId);
    t.same(session.properties, { localPortNumber: '15432', portNumber: '5432', type: 'LocalPortForwarding' });
    t.same(
      Object.keys(session.properties),
      ['localPortNumber', 'portNumber', 'type'],
      'keys sorted like the agent marshals them',
    );
    t.same(session.parameters, { portNumber: ['5432'], localPortNumber: ['15432'] });
    t.equal(session.status, 'started');
    t.equal(session.documentName, 'AWS-StartPortForwardingSession');
    t.ok(api.state.checkToken(out.SessionId ?? '', out.TokenValue ?? ''), 'the token opens the session');
    t.notOk(api.state.checkToken(out.SessionId ?? '', 'not-the-token'));
    t.equal(api.state.calls.at(-1)?.operation, 'StartSession');
    t.equal(api.state.calls.at(-1)?.errorCode, undefined);
  },
);

t.test('StartSession applies document defaults', async (t) => {
  const api = await setup(t);
  const out = await api
    .ssm()
    .send(new StartSessionCommand({ Target: ID, DocumentName: 'AWS-StartPortForwardingSession' }));
  const s = api.state.sessions.get(out.SessionId ?? '');
  t.same(s?.properties, { localPortNumber: '0', portNumber: '80', type: 'LocalPortForwarding' });
});

t.test('StartSession with the remote-host document carries host', async (t) => {
  const api = await setup(t);
  const out = await api.ssm().send(
    new StartSessionCommand({
      Target: ID,
      DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
      Parameters: { host: ['db.internal'], portNumber: ['5432'] },
    }),
  );
  const s = api.state.sessions.get(out.SessionId ?? '');
  t.same(s?.properties, { host: 'db.internal', localPortNumber: '0', portNumber: '5432', type: 'LocalPortForwarding' });
  t.same(Object.keys(s?.properties ?? {}), ['host', 'localPortNumber', 'portNumber', 'type']);
});

t.test('StartSession document and parameter errors', async (t) => {
  const api = await setup(t);
  const ssm = api.ssm();
  const cases: Array<[string, StartSessionCommand, string, RegExp]> = [
    [
      'unknown document',
      new StartSessionCommand({ Target: ID, DocumentName: 'AWS-NoSuchDocument' }),
      'InvalidDocument',
      /AWS-NoSuchDocument/,
    ],
    [
      'shell default document',
      new StartSessionCommand({ Target: ID }),
      'InvalidDocument',
      /SSM-SessionManagerRunShell/,
    ],
    [
      'unknown parameter',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { bogus: ['1'] },
      }),
      'InvalidParameters',
      /"bogus"/,
    ],
    [
      'port not numeric',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { portNumber: ['http'] },
      }),
      'InvalidParameters',
      /"portNumber" "http" does not match/,
    ],
    [
      'port out of range',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { portNumber: ['65536'] },
      }),
      'InvalidParameters',
      /allowed pattern/,
    ],
    [
      'port 0',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { portNumber: ['0'] },
      }),
      'InvalidParameters',
      /portNumber/,
    ],
    [
      'two values',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSession',
        Parameters: { portNumber: ['1', '2'] },
      }),
      'InvalidParameters',
      /exactly one value/,
    ],
    [
      'host missing',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
        Parameters: { portNumber: ['80'] },
      }),
      'InvalidParameters',
      /"host" is required/,
    ],
    [
      'host with shell characters',
      new StartSessionCommand({
        Target: ID,
        DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
        Parameters: { host: ['a;rm -rf'] },
      }),
      'InvalidParameters',
      /"host"/,
    ],
    [
      'no target',
      new StartSessionCommand({ Target: '' }),
      'ValidationException',
      /at 'target' failed to satisfy constraint/,
    ],
  ];
  for (const [what, cmd, name, message] of cases) {
    const err = await sdkError(ssm.send(cmd));
    t.equal(err.name, name, what);
    t.match(err.message, message, what);
    t.equal(err.status, 400, what);
    t.equal(api.state.calls.at(-1)?.errorCode, name, `${what} is recorded`);
  }
  t.equal(api.state.sessions.size, 0, 'no session was created');
});

t.test('StartSession to an unknown or offline target is TargetNotConnected', async (t) => {
  const api = await setup(t);
  const ssm = api.ssm();
  for (const target of ['i-00000000000000001', OFF]) {
    const err = await sdkError(
      ssm.send(new StartSessionCommand({ Target: target, DocumentName: 'AWS-StartPortForwardingSession' })),
    );
    t.equal(err.name, 'TargetNotConnected');
    t.equal(err.message, `${target} is not connected.`);
  }
  // Marking an instance offline at run time has the same effect, and back online works again.
  api.state.setInstance(ID, { pingStatus: 'ConnectionLost' });
  t.equal(
    (await sdkError(ssm.send(new StartSessionCommand({ Target: ID, DocumentName: 'AWS-StartPortForwardingSession' }))))
      .name,
    'TargetNotConnected',
  );
  api.state.setInstance(ID, { pingStatus: 'Online' });
  t.equal(api.state.instances.get(ID)?.tags['Name'], 'web', 'patching keeps the other settings');
  const ok = await ssm.send(new StartSessionCommand({ Target: ID, DocumentName: 'AWS-StartPortForwardingSession' }));
  t.type(ok.SessionId, 'string');
});

t.test('the deny list refuses StartSession with the IAM text', async (t) => {
  const api = await startApiServer(t, {
    instances: [{ instanceId: ID }],
    accessDeny: [{ action: 'ssm:StartSession', resource: ID }],
  });
  const err = await sdkError(
    api.ssm().send(new StartSessionCommand({ Target: ID, DocumentName: 'AWS-StartPortForwardingSession' })),
  );
  t.equal(err.name, 'AccessDeniedException');
  t.equal(
    err.message,
    `User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: ssm:StartSession on resource: arn:aws:ec2:us-east-1:123456789012:instance/${ID} because no identity-based policy allows the ssm:StartSession action`,
  );
  t.equal(err.status, 400);
});

t.test('a wildcard deny covers every resource; other actions still work', async (t) => {
  const api = await startApiServer(t, {
    region: 'eu-west-1',
    instances: [{ instanceId: 'mi-0123456789abcdef0' }],
    accessDeny: [{ action: 'ssm:StartSession' }],
  });
  const err = await sdkError(
    api
      .ssm()
      .send(
        new StartSessionCommand({ Target: 'mi-0123456789abcdef0', DocumentName: 'AWS-StartPortForwardingSession' }),
      ),
  );
  t.equal(err.name, 'AccessDeniedException');
  t.match(err.message, /on resource: arn:aws:ssm:eu-west-1:123456789012:managed-instance\/mi-0123456789abcdef0 /);
  const term = await api.ssm().send(new TerminateSessionCommand({ SessionId: 'emulator-00000000000000000' }));
  t.equal(term.SessionId, 'emulator-00000000000000000');
});

t.test('ResumeSession issues a fresh token; a terminated session resumes without one', async (t) => {
  const api = await setup(t);
  const ssm = api.ssm();
  const started = await ssm.send(
    new StartSessionCommand({ Target: ID, DocumentName: 'AWS-StartPortForwardingSession' }),
  );
  const id = started.SessionId ?? '';
  const resumed = await ssm.send(new ResumeSessionCommand({ SessionId: id }));
  t.equal(resumed.SessionId, id);
  const cell = (u: string | undefined): string | null => new URL(u ?? '').searchParams.get('cell-number');
  t.not(resumed.StreamUrl, started.StreamUrl, 'resumeStreamUrl fresh (default): a new StreamUrl');
  t.equal(new URL(resumed.StreamUrl ?? '').pathname, new URL(started.StreamUrl ?? '').pathname, 'same session path');
  t.not(cell(resumed.StreamUrl), cell(started.StreamUrl), 'a new cell-number');
  t.type(resumed.TokenValue, 'string');
  t.not(resumed.TokenValue, started.TokenValue, 'a fresh token');
  t.ok(api.state.checkToken(id, resumed.TokenValue ?? ''));

  const terminated = once(api.state, 'session-terminated');
  const term = await ssm.send(new TerminateSessionCommand({ SessionId: id }));
  t.equal(term.SessionId, id);
  const [s, output] = (await terminated) as [EmulatedSession, string];
  t.equal(s.sessionId, id);
  t.equal(output, '');
  t.equal(s.status, 'terminated');
  t.notOk(api.state.checkToken(id, resumed.TokenValue ?? ''), 'tokens die with the session');

  const after = await ssm.send(new ResumeSessionCommand({ SessionId: id }));
  t.equal(after.SessionId, id);
  t.equal(after.TokenValue, undefined, 'no TokenValue for a terminated session');

  const missing = await sdkError(ssm.send(new ResumeSessionCommand({ SessionId: 'emulator-0123456789abcdef0' })));
  t.equal(missing.name, 'DoesNotExistException');
});

t.test('TerminateSession is idempotent and every call is recorded', async (t) => {
  const api = await setup(t);
  const ssm = api.ssm();
  const started = await ssm.send(
    new StartSessionCommand({ Target: ID, DocumentName: 'AWS-StartPortForwardingSession' }),
  );
  const id = started.SessionId ?? '';
  let events = 0;
  api.state.on('session-terminated', () => events++);
  await ssm.send(new TerminateSessionCommand({ SessionId: id }));
  await ssm.send(new TerminateSessionCommand({ SessionId: id }));
  t.equal(events, 1, 'one session-terminated event');
  const calls = api.state.calls.filter((c) => c.operation === 'TerminateSession');
  t.equal(calls.length, 2);
  t.same(calls[0]?.request, { SessionId: id });
  t.equal(api.state.sessions.get(id)?.closeOutput, '');
});

t.test('failResumeOnce refuses exactly one ResumeSession with AccessDeniedException', async (t) => {
  const api = await startApiServer(t, { faults: { failResumeOnce: true } });
  const ssm = api.ssm();
  const target = [...api.state.instances.keys()][0] ?? '';
  t.equal(api.state.instances.get(target)?.tags['Name'], 'demo', 'the default instance is named demo');
  const started = await ssm.send(
    new StartSessionCommand({ Target: target, DocumentName: 'AWS-StartPortForwardingSession' }),
  );
  const id = started.SessionId ?? '';
  const err = await sdkError(ssm.send(new ResumeSessionCommand({ SessionId: id })));
  t.equal(err.name, 'AccessDeniedException');
  t.equal(err.status, 400);
  t.equal(api.state.faults.failResumeOnce, false, 'the knob is consumed');
  const ok = await ssm.send(new ResumeSessionCommand({ SessionId: id }));
  t.type(ok.TokenValue, 'string');
  // The knob can be armed again at run time.
  api.state.faults.failResumeOnce = true;
  t.equal((await sdkError(ssm.send(new ResumeSessionCommand({ SessionId: id })))).name, 'AccessDeniedException');
});
