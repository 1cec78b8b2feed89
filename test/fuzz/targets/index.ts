/** Every fuzz target, in a fixed order (case i goes to the same target for a given list). */
import type { FuzzTarget } from '../../helpers/fuzz.js';
import { dataChannelTarget } from './data-channel.js';
import { muxSessionTarget } from './mux-session.js';
import { reliableLinkOpsTarget, reliableLinkPairTarget } from './reliable-link.js';
import { smuxDecoderTarget, smuxFrameTarget } from './smux.js';
import { ssmFrameTarget, ssmPayloadTarget, ssmStreamTarget } from './ssm.js';

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  ssmFrameTarget,
  ssmPayloadTarget,
  ssmStreamTarget,
  smuxFrameTarget,
  smuxDecoderTarget,
  reliableLinkOpsTarget,
  reliableLinkPairTarget,
  muxSessionTarget,
  dataChannelTarget,
];
