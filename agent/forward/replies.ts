// What the Forward client reads from its receiver: HELO and PONG of the shared-key handshake, then
// `{ack: chunk}` replies. Anything else, or a reply out of turn, ends the connection with an error.
import type { Socket } from 'node:net';
import { newStreamDecoder, text } from './codec.js';
import { encodeMessage } from './encode.js';
import { ForwardHandshakeError } from './errors.js';
import { newSalt, parseHelo, parsePong, pingMessage, sharedKeyDigest, type Bytes } from './handshake.js';
import { readMessages } from './walk.js';

/**
 * The largest message the client reads from its receiver. It only ever reads HELO, PONG and acks
 * (a few dozen bytes each), so anything near this is a hostile or broken peer: the connection is
 * closed rather than the message buffered (the receiver side's own bound is 256 MiB).
 */
export const MAX_REPLY_BYTES = 64 * 1024;

export interface ReplyPeer {
  /** The receiver's address, for error messages. */
  to: string;
  sharedKey: string | null;
  selfHostname: string;
}

export interface ReplyHandlers {
  /** False once the client moved on to another socket: stop reading this one. */
  current(): boolean;
  /** The handshake passed (called at once by the client when there is no shared key). */
  ready(): void;
  ack(chunkId: string): void;
}

/** Read `socket` until it ends; throws ForwardHandshakeError on a refused or wrong reply. */
export async function readReplies(socket: Socket, peer: ReplyPeer, on: ReplyHandlers): Promise<void> {
  const { to, sharedKey } = peer;
  const salt = newSalt();
  let nonce: Bytes | null = null;
  let handshaking = sharedKey !== null;
  const decoder = newStreamDecoder();
  // Decoded from a copy: the HELO nonce is kept past this message, and a framed message is a
  // view into the framer's buffer (these messages are a few dozen bytes).
  for await (const msg of readMessages(socket, (m) => decoder.decode(m.slice()), MAX_REPLY_BYTES)) {
    if (!on.current()) return;
    const helo = parseHelo(msg);
    if (helo) {
      if (sharedKey === null) throw new ForwardHandshakeError(`Forward receiver ${to} asks for a shared key (HELO) but forward.shared_key is none`);
      if (!handshaking || nonce !== null) throw new ForwardHandshakeError(`Forward receiver ${to} sent HELO twice`);
      nonce = helo.nonce;
      socket.write(encodeMessage(pingMessage(peer.selfHostname, salt, nonce, sharedKey)));
      continue;
    }
    if (handshaking) {
      if (nonce === null) throw new ForwardHandshakeError(`Forward receiver ${to}: expected HELO first`);
      const pong = parsePong(msg);
      if (!pong.ok) throw new ForwardHandshakeError(`Forward receiver ${to} refused the handshake: ${pong.reason || 'no reason given'}`);
      if (pong.digest !== sharedKeyDigest(salt, pong.hostname, nonce, sharedKey!)) {
        throw new ForwardHandshakeError(`Forward receiver ${to} (${pong.hostname}): PONG digest does not match forward.shared_key`);
      }
      handshaking = false;
      on.ready();
      continue;
    }
    const ack = typeof msg === 'object' && msg !== null && !Array.isArray(msg) ? text((msg as { ack?: unknown }).ack) : undefined;
    if (typeof ack !== 'string') throw new ForwardHandshakeError(`Forward receiver ${to}: expected {ack: chunk} (got ${JSON.stringify(msg)?.slice(0, 80)})`);
    on.ack(ack);
  }
}
