#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { main } from '../src/cli/main.js';
import { createProcessIo, exitAfterFlush } from '../src/cli/process-io.js';

// The io (and so `tunnel run`'s child) gets the environment as the user gave it: a snapshot
// taken before the line below, which is for this process only.
const io = createProcessIo();
// On Node 20 the SDK warns on every run that it will need Node 22 after January 2027; that is
// not the user's concern in the middle of a command (docs/cli.md says which Node is tested).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
// Library timers are unref'd (a retransmit timer must not keep a process alive by itself), so the
// command holds the event loop open until main() settles: after a forward fails and its listener
// closes, the shutdown still has work (TerminateSession, the stop deadline) to finish.
const hold = setInterval(() => undefined, 1 << 30);
const status = await main(hideBin(process.argv), io);
clearInterval(hold);
exitAfterFlush(status);
