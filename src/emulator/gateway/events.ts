/**
 * Observation hooks of the emulator (`emulator.events`). Tests wait on these instead of sleeping;
 * `tunnel emulator` can log them.
 */
import type { EmulatorError } from '../../errors.js';
import type { ClientMessage } from '../../protocol/ssm/client-message.js';
import type { FlagCode } from '../../protocol/ssm/message-type.js';
import type { HandshakeInfo } from '../agent/port-agent.js';
import type { DialTarget } from '../agent/destinations.js';
import type { Direction, FaultKind } from '../faults.js';

/** Why a client websocket stopped being the session's socket. */
export type DetachReason = 'closed' | 'dropped' | 'bye' | 'replaced' | 'session-ended' | 'emulator-closed';

export interface EmulatorEvents {
  /** A client websocket passed the token check and is now the session's socket. */
  'client-attached': [{ sessionId: string; clientId: string; clientVersion: string | undefined; attachCount: number }];
  'client-detached': [{ sessionId: string; reason: DetachReason }];
  /** A websocket was refused (bad or missing token, bad first frame); the error is also in `emulator.errors`. */
  'bad-token': [EmulatorError];
  'handshake-complete': [{ sessionId: string } & HandshakeInfo];
  /** `channel_closed` was sent (delivered: a client socket was attached) and the session ended. */
  'channel-closed': [{ sessionId: string; output: string; delivered: boolean }];
  fault: [{ sessionId: string; kind: FaultKind; dir?: Direction }];
  dial: [{ sessionId: string; target: DialTarget | undefined; ok: boolean; error?: string }];
  'connect-to-port-error': [{ sessionId: string; streamId: number }];
  stream: [{ sessionId: string; streamId: number }];
  flag: [{ sessionId: string; flag: FlagCode }];
  /** The agent side of the session finished ('' = success, else its failure text). */
  'agent-ended': [{ sessionId: string; output: string }];
  'agent-restarted': [{ sessionId: string }];
  /** Every record relayed, decoded (emitted only while someone listens). */
  message: [{ sessionId: string; dir: Direction; message: ClientMessage }];
  /** A client record that did not decode (dropped, as the agent drops what it cannot parse). */
  'protocol-error': [{ sessionId: string; error: Error }];
}
