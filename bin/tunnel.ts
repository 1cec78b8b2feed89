#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { main } from '../src/cli/main.js';
import { createProcessIo, exitAfterFlush } from '../src/cli/process-io.js';

// The SDK warns about Node 20 support ending in 2027 on every run; that is not the user's concern here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
exitAfterFlush(await main(hideBin(process.argv), createProcessIo()));
