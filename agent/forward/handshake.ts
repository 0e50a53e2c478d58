// The shared-key handshake: the server's HELO, the client's PING, the server's PONG, and the digest
// both sides compute. Builders return message arrays; parsers take what the stream decoder read.
import { createHash, randomBytes } from 'node:crypto';
import { text } from './codec.js';
import { describe } from './decode.js';
import { ForwardProtocolError } from './errors.js';

export type Bytes = Uint8Array | string;

/**
 * The shared-key digest both sides compute: `sha512_hex(salt + hostname + nonce + shared_key)`.
 * Salt and nonce are hashed as the raw bytes they were sent as (fluentd sends the nonce as bin).
 */
export function sharedKeyDigest(salt: Bytes, hostname: string, nonce: Bytes, sharedKey: string): string {
  return createHash('sha512').update(salt).update(hostname).update(nonce).update(sharedKey).digest('hex');
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** The client's salt: a hex string of random bytes, as fluentd's out_forward sends it. */
export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

export interface Helo {
  nonce: Bytes;
  /** Salt for user/password auth; empty when the server does not ask for it. */
  auth: Bytes;
  keepalive: boolean;
}

export function heloMessage(nonce: Uint8Array, keepalive = true): unknown[] {
  return ['HELO', { nonce, auth: '', keepalive }];
}

export function parseHelo(m: unknown): Helo | null {
  if (!Array.isArray(m) || text(m[0]) !== 'HELO') return null;
  const o = m[1] as Record<string, unknown> | undefined;
  if (m.length !== 2 || typeof o !== 'object' || o === null || !isBytes(o.nonce)) {
    throw new ForwardProtocolError(`HELO: expected ['HELO', {nonce, auth, keepalive}] (got ${describe(o)})`);
  }
  return { nonce: o.nonce, auth: isBytes(o.auth) ? o.auth : '', keepalive: o.keepalive !== false };
}

export function pingMessage(selfHostname: string, salt: Bytes, nonce: Bytes, sharedKey: string): unknown[] {
  return ['PING', selfHostname, salt, sharedKeyDigest(salt, selfHostname, nonce, sharedKey), '', ''];
}

export interface Ping {
  hostname: string;
  salt: Bytes;
  digest: string;
}

export function parsePing(m: unknown): Ping {
  if (Array.isArray(m)) m = [text(m[0]), text(m[1]), m[2], text(m[3]), text(m[4]), text(m[5])];
  if (!Array.isArray(m) || m.length !== 6 || m[0] !== 'PING' || typeof m[1] !== 'string' || !isBytes(m[2]) || typeof m[3] !== 'string') {
    throw new ForwardProtocolError(`expected PING [PING, hostname, salt, digest, username, password] (got ${describe(Array.isArray(m) ? m[0] : m)})`);
  }
  return { hostname: m[1] as string, salt: m[2] as Bytes, digest: m[3] as string };
}

export function pongMessage(ok: boolean, reason: string, serverHostname: string, salt: Bytes, nonce: Bytes, sharedKey: string): unknown[] {
  return ['PONG', ok, reason, serverHostname, ok ? sharedKeyDigest(salt, serverHostname, nonce, sharedKey) : ''];
}

export interface Pong {
  ok: boolean;
  reason: string;
  hostname: string;
  digest: string;
}

export function parsePong(m: unknown): Pong {
  if (Array.isArray(m)) m = m.map(text);
  if (!Array.isArray(m) || m.length !== 5 || m[0] !== 'PONG' || typeof m[1] !== 'boolean' || typeof m[2] !== 'string' || typeof m[3] !== 'string' || typeof m[4] !== 'string') {
    throw new ForwardProtocolError(`expected PONG [PONG, ok, reason, hostname, digest] (got ${describe(Array.isArray(m) ? m[0] : m)})`);
  }
  const a = m as [string, boolean, string, string, string];
  return { ok: a[1], reason: a[2], hostname: a[3], digest: a[4] };
}

function isBytes(v: unknown): v is Bytes {
  return typeof v === 'string' || v instanceof Uint8Array;
}
