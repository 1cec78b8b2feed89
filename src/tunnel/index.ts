/** The tunnel engine: forwards, listeners, session pools, lifecycle and events. */
export { TunnelManager, openForward, type TunnelManagerOptions } from './tunnel-manager.js';
export { Forward } from './forward.js';
export {
  DEFAULT_BIND,
  DEFAULT_SESSION_IDLE_CLOSE_MS,
  isInstanceId,
  parseTargetRef,
  describeTargetRef,
  type ForwardSpec,
  type TargetRef,
} from './forward-spec.js';
export {
  EVENT_TYPES,
  type ForwardState,
  type ForwardStatus,
  type TunnelEvent,
  type TunnelEventType,
} from './events.js';
export { resolveTarget, type ResolvedTarget } from './target.js';
export { backoffDelay, seededRandom, DEFAULT_BACKOFF, type BackoffPolicy, type RandomSource } from './backoff.js';
export type { SessionFactory, ChannelPort, MuxPort, HandshakeInfo, ChannelInit } from './session-ports.js';
