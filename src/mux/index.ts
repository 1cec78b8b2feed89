/** smux multiplexer: sessions and streams wire-compatible with xtaci/smux v1.5 (versions 1 and 2). */
export { DEFAULT_MUX_CONFIG, type MuxConfig, resolveMuxConfig, verifyMuxConfig } from './config.js';
export { MuxSession, type MuxRole, type MuxSessionOptions } from './mux-session.js';
export { INITIAL_PEER_WINDOW, MuxStream } from './mux-stream.js';
