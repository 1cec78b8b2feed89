/**
 * The production wiring of the engine's ports: session/DataChannel for the data channel and
 * mux/MuxSession (client role, smux v1) over a DataChannelDuplex.
 */
import { MuxSession } from '../mux/mux-session.js';
import { DataChannel } from '../session/data-channel.js';
import { DataChannelDuplex } from '../session/data-channel-duplex.js';
import type { KmsHandshakeHandler } from '../session/handshake.js';
import type { DataChannelOptions } from '../session/data-channel-options.js';
import type { ChannelPort, SessionFactory } from './session-ports.js';

export interface DefaultSessionFactoryOptions {
  /** A fresh KMS handler per data channel (issue #9); without one, a KMSEncryption request fails the handshake. */
  kms?: () => KmsHandshakeHandler;
  /** Before every websocket connect: SigV4 upgrade headers and the network route (src/aws/data-channel-auth.ts). */
  prepareConnect?: DataChannelOptions['prepareConnect'];
}

/** The production factory; TunnelManager passes a KMS handler factory built from its AWS settings. */
export function createDefaultSessionFactory(factoryOptions: DefaultSessionFactoryOptions = {}): SessionFactory {
  return {
    createChannel(init): ChannelPort {
      return new DataChannel({
        streamUrl: init.streamUrl,
        tokenValue: init.tokenValue,
        sessionId: init.sessionId,
        targetId: init.targetId,
        clock: init.clock,
        resume: init.resume,
        ...(init.clientVersion === undefined ? {} : { clientVersion: init.clientVersion }),
        ...(init.random === undefined ? {} : { random: init.random }),
        ...(factoryOptions.kms === undefined ? {} : { kms: factoryOptions.kms() }),
        ...(factoryOptions.prepareConnect === undefined ? {} : { prepareConnect: factoryOptions.prepareConnect }),
      });
    },
    createMux(channel, options) {
      // Keep-alive follows the agent's version (HandshakeResult.smuxKeepAlive): a modern agent
      // has it off, and NOP frames would defeat the service's idle timeout.
      return new MuxSession(new DataChannelDuplex(channel), {
        role: 'client',
        config: { version: 1, keepAliveDisabled: !options.keepAlive },
        clock: options.clock,
      });
    },
  };
}

/** The production factory without KMS (a KMSEncryption request then fails the handshake). */
export const defaultSessionFactory: SessionFactory = createDefaultSessionFactory();
