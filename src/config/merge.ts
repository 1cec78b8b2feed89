/**
 * Pure merge of config layers: later layers win. `defaults` merge key by key; a target, forward
 * or group defined in a later layer replaces the earlier entry of the same name as a whole
 * (half-merged forwards from two files would be hard to reason about).
 *
 * The usual order is `mergeConfig(awsEnv, user, project, tunnelEnv, flags)`.
 */
import { setOwn } from './own.js';
import { DEFAULT_CONFIG } from './schema.js';
import type { ConfigLayer, TunnelConfig } from './schema.js';

export function mergeConfig(...layers: readonly ConfigLayer[]): TunnelConfig {
  const merged: TunnelConfig = {
    defaults: { ...DEFAULT_CONFIG.defaults, bind: [...DEFAULT_CONFIG.defaults.bind] },
    targets: {},
    forwards: {},
    groups: {},
    origins: new Map(),
  };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.defaults)) {
      if (v !== undefined) Object.assign(merged.defaults, { [k]: v });
    }
    // setOwn, not Object.assign: an entry named `__proto__` must stay an entry.
    for (const [k, v] of Object.entries(layer.targets)) setOwn(merged.targets, k, v);
    for (const [k, v] of Object.entries(layer.forwards)) setOwn(merged.forwards, k, v);
    for (const [k, v] of Object.entries(layer.groups)) setOwn(merged.groups, k, v);
    if (layer.bastion !== undefined) merged.bastion = layer.bastion;
    for (const [k, v] of layer.origins) merged.origins.set(k, v);
  }
  return merged;
}
