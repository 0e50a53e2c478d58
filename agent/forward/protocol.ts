// The Fluentd Forward protocol v1, as far as warden speaks it: EventTime, entries, the four event
// modes, acks and the shared-key handshake (HELO / PING / PONG). One module per part; this one
// is their public face.
// Spec: https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1
export { ForwardAddressError, ForwardError, ForwardProtocolError } from './errors.js';
export { EVENT_TIME_EXT, EventTime, extensionCodec, newDecoder, newEncoder, newStreamDecoder, text, textify } from './codec.js';
export { concatEntries, encodeEntry, encodeMessage, encodePackedForward, newChunkId } from './encode.js';
export { EntryBuffer } from './entry-buffer.js';
export { checkEntry, checkRecord, checkTime, decodeEntries, describe, timeParts, type Entry } from './decode.js';
export { heloMessage, newNonce, newSalt, parseHelo, parsePing, parsePong, pingMessage, pongMessage, sharedKeyDigest } from './handshake.js';
export type { Bytes, Helo, Ping, Pong } from './handshake.js';
export { formatForwardAddress, parseForwardTo, type ForwardAddress } from './address.js';
