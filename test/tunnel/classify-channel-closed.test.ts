import t from 'tap';
import { classifyChannelClosed } from '../../src/tunnel/tunnel-session.js';

t.test(
  'a denied remote host is permanent, with the agent text, the rule, the agent version and what to do',
  async (t) => {
    const end = classifyChannelClosed('Forwarding to IP address 169.254.169.254 is forbidden.', {
      agentVersion: '3.3.4851.0',
    });
    t.match(end, { reason: 'channel-closed', code: 'ERR_TUNNEL_REMOTE_HOST_FORBIDDEN', permanent: true });
    t.ok(
      end.message.startsWith('refused on the instance: Forwarding to IP address 169.254.169.254 is forbidden. '),
      end.message,
    );
    t.match(end.message, /the agent \(version 3\.3\.4851\.0\) refuses this destination/);
    t.match(end.message, /instance metadata/);
    t.match(end.message, /3\.3\.4851\.0 on also refuse loopback/);
    t.match(end.message, /169\.254\.170\.2/);
    t.match(end.message, /use host localhost/);
    t.match(end.message, /Not retried/);
    t.match(
      classifyChannelClosed('Forwarding to IP address x is forbidden.').message,
      /^refused on the instance: Forwarding .* the agent refuses/,
    );
  },
);

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
