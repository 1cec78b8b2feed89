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
export { startEmulator, type Emulator, type EmulatorOptions } from './emulator/index.js';
