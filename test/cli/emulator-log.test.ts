import t from 'tap';
import { once } from 'node:events';
import { attachActivityLog } from '../../src/cli/commands/emulator-log.js';
import { startSession, withEmulator } from '../helpers/emulator.js';
import { RawClient } from '../helpers/raw-client.js';

t.test('the emulator activity log shows calls and session events, never tokens', async (t) => {
  const emu = await withEmulator(t, { pacing: 'none' });
  const lines: string[] = [];
  const events: string[] = [];
  const detach = attachActivityLog(emu, (event, _fields, line) => {
    events.push(event);
    lines.push(line);
  });
  const s = await startSession(emu);
  const client = await RawClient.connect(s.streamUrl, s.tokenValue);
  const hs = once(emu.events, 'handshake-complete');
  await client.handshake('1.2.677.0');
  await hs;
  const closed = client.waitForChannelClosed();
  emu.terminate(s.sessionId);
  await closed;
  detach();
  t.match(lines, [
    /^api StartSession i-0123456789abcdef0 → ok$/,
    new RegExp(`^${s.sessionId} client attached \\(ClientVersion 1\\.2\\.677\\.0\\)$`),
    new RegExp(`^${s.sessionId} handshake complete: mux, smux keep-alive off$`),
  ]);
  t.ok(events.includes('channel-closed'), 'channel_closed logged');
  t.notOk(lines.join('\n').includes(s.tokenValue), 'no token in the log');
  const count = lines.length;
  emu.state.recordCall({ operation: 'TerminateSession', at: 0, request: { SessionId: s.sessionId } });
  t.equal(lines.length, count, 'nothing logged after detach');
  client.drop();
});
