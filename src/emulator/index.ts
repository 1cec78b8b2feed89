/** The embedded Session Manager emulator (SSM API + message gateway + agent Port plugin). */
export { startEmulator, type Emulator, type StartEmulatorInternals } from './emulator.js';
export type { EmulatorEvents, DetachReason } from './gateway/events.js';
export type { RestartAgentOptions } from './gateway/gateway-session.js';
export { IDLE_TIMEOUT_TEXT, MAX_DURATION_TEXT } from './gateway/channel-closed.js';
export { HANDSHAKE_TIMEOUT_TEXT, type HandshakeInfo, type PortMode } from './agent/port-agent.js';
export { forbiddenHostText } from './agent/destinations.js';
export { startDemoServices, demoBytes, type DemoServices, type DemoServicesOptions } from './demo-services.js';
export { createRng, type FaultKind, type Direction } from './faults.js';
export type { PacingProfile } from './pacing.js';
export {
  resolveEmulatorOptions,
  loadEmulatorConfig,
  isLoopbackHost,
  DEFAULT_REMOTE_HOST_DENY_LIST,
  DEFAULT_AGENT_VERSION,
  DEFAULT_INSTANCE_ID,
  type EmulatorOptions,
  type ResolvedEmulatorOptions,
  type InstanceSettings,
  type DestinationMapping,
  type FaultSettings,
  type AccessDenyRule,
  type PingStatus,
} from './options.js';
export { EmulatorState, type EmulatedSession, type ApiCall } from './state.js';
