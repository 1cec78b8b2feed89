import t from 'tap';
import {
  AGENT_REFUSES_LOOPBACK_MIN,
  agentRefusesLoopback,
  DEFAULT_CLIENT_VERSION,
  agentSupportsKeepAliveDisabled,
  agentSupportsMux,
  agentSupportsTerminateFlag,
  clientSupportsKeepAliveDisabled,
  clientSupportsMux,
  compareVersionsAgentStyle,
  isVersionGreater,
} from '../../../src/protocol/ssm/index.js';

t.test('isVersionGreater: strict, numeric parts, same count', async (t) => {
  t.ok(isVersionGreater('3.0.196.1', '3.0.196.0'));
  t.ok(isVersionGreater('3.0.1000.0', '3.0.196.0'), 'numeric, not text');
  t.notOk(isVersionGreater('3.0.196.0', '3.0.196.0'), 'equal is not greater');
  t.notOk(isVersionGreater('3.0.196', '3.0.196.0'), 'different part counts');
  t.notOk(isVersionGreater('3.x.196.0', '3.0.196.0'), 'non-numeric part');
  t.notOk(isVersionGreater('', '3.0.196.0'));
  t.notOk(isVersionGreater('2.9.999.9', '3.0.196.0'));
});

t.test('agentRefusesLoopback: from 3.3.4851.0 on', async (t) => {
  t.equal(AGENT_REFUSES_LOOPBACK_MIN, '3.3.4851.0');
  t.notOk(agentRefusesLoopback(undefined));
  t.notOk(agentRefusesLoopback('3.3.1142.0'));
  t.ok(agentRefusesLoopback('3.3.4851.0'));
  t.ok(agentRefusesLoopback('3.3.4852.0'));
  t.ok(agentRefusesLoopback('3.10.0.0'));
});

t.test('client gates on AgentVersion', async (t) => {
  t.ok(agentSupportsMux('3.3.1142.0'), 'the agent the fixtures were recorded with');
  t.ok(agentSupportsMux(AGENT_REFUSES_LOOPBACK_MIN));
  t.notOk(agentSupportsMux('3.0.196.0'), 'the basic-session fixture rewrites to exactly 3.0.196.0');
  t.ok(agentSupportsMux('3.0.196.1'));
  t.ok(agentSupportsKeepAliveDisabled('3.1.1511.1'));
  t.notOk(agentSupportsKeepAliveDisabled('3.1.1511.0'));
  t.ok(agentSupportsTerminateFlag('2.3.722.1'));
  t.notOk(agentSupportsTerminateFlag('2.3.722.0'));
  t.notOk(agentSupportsMux('3.3.1142'), '3-part agent versions disable every client feature');
});

t.test('agent gates on ClientVersion', async (t) => {
  t.ok(clientSupportsMux(DEFAULT_CLIENT_VERSION));
  t.ok(clientSupportsMux('1.1.70'), '>= is inclusive');
  t.notOk(clientSupportsMux('1.1.69'));
  t.notOk(clientSupportsMux('1.1.61.0'), 'the basic fixture rewrites the client to 1.1.61.0');
  t.ok(clientSupportsKeepAliveDisabled(DEFAULT_CLIENT_VERSION));
  t.notOk(clientSupportsKeepAliveDisabled('1.2.331.0'), 'equal keeps keep-alive on');
  t.ok(clientSupportsKeepAliveDisabled('1.2.332.0'));
  t.notOk(clientSupportsKeepAliveDisabled('1.2.0.0'), 'an unstamped plugin');
});

t.test('agent-style comparison', async (t) => {
  t.equal(compareVersionsAgentStyle('1.2.3', '1.2.3'), 0);
  t.equal(compareVersionsAgentStyle('1.2.3', '1.10.0'), -1, 'semver numeric');
  t.equal(compareVersionsAgentStyle('1.2.3-beta', '1.2.3'), -1, 'pre-release below release');
  t.equal(compareVersionsAgentStyle('1.2.3', '1.2.3-beta'), 1);
  t.equal(compareVersionsAgentStyle('1.2.3-a', '1.2.3-b'), -1);
  t.equal(compareVersionsAgentStyle('1.1.70', '1.1.70.0'), -1, 'prefix: shorter is smaller');
  t.equal(compareVersionsAgentStyle('1.1.70.0', '1.1.70'), 1);
  t.equal(compareVersionsAgentStyle('1.a.0.0', '1.b.0.0'), -1, 'text compare of non-numeric parts');
});
