/** smux wire format: frame codec and incremental decoder (pure, no I/O). */
export * from './frame.js';
export { FrameDecoder } from './frame-decoder.js';
