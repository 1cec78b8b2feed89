import t from 'tap';
import { classifyChannelClosed } from '../../src/tunnel/tunnel-session.js';

t.test('a denied remote host is permanent, with the agent text', async (t) => {
  const end = classifyChannelClosed('Forwarding to IP address 169.254.169.254 is forbidden.');
  t.same(end, {
    reason: 'channel-closed',
    message: 'refused on the instance: Forwarding to IP address 169.254.169.254 is forbidden.',
    code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN',
    permanent: true,
  });
});

t.test('a remote host the agent cannot resolve is permanent (the agent resolves once per session)', async (t) => {
  const end = classifyChannelClosed('lookup nosuchhost.invalid: no such host');
  t.equal(end.code, 'ERR_TUNNEL_CONNECT_TO_PORT');
  t.equal(end.permanent, true);
  t.equal(end.message, 'the instance could not resolve the host: lookup nosuchhost.invalid: no such host');
});

t.test('service-side ends are transient: a fresh session may work', async (t) => {
  for (const output of [
    '',
    'Session bench-0123456789abcdef0 was terminated.',
    'Your session timed out due to inactivity and has been terminated.',
    'Unable to connect to specified port: dial tcp 127.0.0.1:5432: connect: connection refused',
  ]) {
    const end = classifyChannelClosed(output);
    t.equal(end.code, 'ERR_SESSION_CHANNEL_CLOSED', JSON.stringify(output));
    t.equal(end.permanent, false, JSON.stringify(output));
  }
  t.equal(classifyChannelClosed('').message, 'the service closed the session');
});
