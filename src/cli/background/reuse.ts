/**
 * `tunnel run` and the background process: a forward of the same project that is already up
 * in the background is used as it is (its address goes into the command's environment) instead
 * of a second one being started on the same port.
 */
import type { BackgroundStatus } from '../../daemon/protocol.js';
import type { ForwardStatus } from '../../tunnel/events.js';
import type { CliIo } from '../io.js';
import { connectRunning } from './common.js';

/** The background forwards of `project` named in `names` that are up; [] when none answers. */
export async function backgroundUp(io: CliIo, project: string, names: readonly string[]): Promise<ForwardStatus[]> {
  let client;
  try {
    client = await connectRunning(io);
  } catch {
    // Not running (or not usable): `run` brings everything up itself.
    return [];
  }
  try {
    const r = await client.request({ op: 'status' });
    const list = (Array.isArray(r['forwards']) ? r['forwards'] : []) as BackgroundStatus[];
    return list
      .filter((s) => s.project === project && names.includes(s.name))
      .filter((s) => s.state === 'ready' || s.state === 'idle' || s.state === 'reconnecting')
      .map(({ project: _p, since: _s, ...status }) => status);
  } catch {
    return [];
  } finally {
    client.close();
  }
}
