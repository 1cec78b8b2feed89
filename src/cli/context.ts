/** What every forwarding command starts from: the merged config and how to report. */
import { loadConfig } from '../config/load.js';
import type { LoadedConfig } from '../config/load.js';
import type { CliIo } from './io.js';
import { loadOptions } from './options.js';
import type { GlobalArgs } from './options.js';
import { createRenderer, outputMode } from './output/renderer.js';
import type { Renderer } from './output/renderer.js';
import type { ReportOptions } from './report.js';

export function reportOptions(args: GlobalArgs): ReportOptions {
  return { json: args.json, verbose: args.verbose, profile: args.profile };
}

export function rendererFor(io: CliIo, args: GlobalArgs): Renderer {
  return createRenderer(io, { mode: outputMode(io, args.json), quiet: args.quiet, verbose: args.verbose });
}

export async function loadFor(io: CliIo, args: GlobalArgs): Promise<LoadedConfig> {
  return loadConfig(loadOptions(io, args));
}
