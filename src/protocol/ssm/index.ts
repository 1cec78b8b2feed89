/** Session Manager data-channel codecs: pure, no I/O, no timers. */
export * from './message-type.js';
export * from './client-message.js';
export * from './message-stream-decoder.js';
export * from './payloads.js';
export * from './versions.js';
