#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { main } from '../src/cli/main.js';
import { createProcessIo, exitAfterFlush } from '../src/cli/process-io.js';

// The SDK warns about Node 20 support ending in 2027 on every run; that is not the user's concern here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
// Library timers are unref'd (a retransmit timer must not keep a process alive by itself), so the
// command holds the event loop open until main() settles: after a forward fails and its listener
// closes, the shutdown still has work (TerminateSession, the stop deadline) to finish.
const hold = setInterval(() => undefined, 1 << 30);
const status = await main(hideBin(process.argv), createProcessIo());
clearInterval(hold);
exitAfterFlush(status);
