/** Public library API of `tunnel` (see docs/api.md). Re-exports only. */
export {
  TunnelManager,
  openForward,
  Forward,
  DEFAULT_BIND,
  parseTargetRef,
  describeTargetRef,
  isInstanceId,
  seededRandom,
  EVENT_TYPES,
  type TunnelManagerOptions,
  type ForwardSpec,
  type TargetRef,
  type ForwardState,
  type ForwardStatus,
  type TunnelEvent,
  type TunnelEventType,
  type BackoffPolicy,
  type RandomSource,
} from './tunnel/index.js';
export {
  createSsmApi,
  type SsmApi,
  type AwsSettings,
  type AwsCredentials,
  type AwsCredentialIdentityProvider,
} from './aws/index.js';
export {
  TunnelError,
  ProtocolError,
  SessionError,
  MuxError,
  AwsError,
  ForwardError,
  ConfigError,
  UsageError,
  EmulatorError,
  ERROR_CODES,
  isTunnelError,
  type ErrorCode,
} from './errors.js';
export { systemClock, type Clock } from './clock.js';
// The emulator is a subpath export of its own (`<package>/emulator`): importing the library
// must not load it.
