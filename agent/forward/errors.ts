// Every error the Forward side throws on purpose: one base class, one subclass per failure, each
// documented by when it is thrown. `name` is the subclass's, for logs and `err.name` checks.

/** The base of the errors below: catch it to handle any Forward failure warden reports itself. */
export class ForwardError extends Error {
  override name = 'ForwardError';
}

/** Thrown when bytes from a peer are valid msgpack but not a Forward message this side accepts. */
export class ForwardProtocolError extends ForwardError { override name = 'ForwardProtocolError'; }

/** Thrown when `forward.to` (or a sink's `--listen`) is not tcp://HOST:PORT or unix:///PATH. */
export class ForwardAddressError extends ForwardError { override name = 'ForwardAddressError'; }

/** Thrown (as a rejection of send()) when the client was closed before the chunk was acked. */
export class ForwardClosedError extends ForwardError { override name = 'ForwardClosedError'; }

/** Thrown when the receiver refused the handshake, or its PONG digest does not match our shared key. */
export class ForwardHandshakeError extends ForwardError { override name = 'ForwardHandshakeError'; }

/** Thrown when a chunk was not acked within `ackTimeoutMs`; the connection is then replaced. */
export class ForwardAckTimeoutError extends ForwardError { override name = 'ForwardAckTimeoutError'; }

/** Thrown when `warden sink` cannot write its output (a full disk, a closed stdout). */
export class SinkOutputError extends ForwardError { override name = 'SinkOutputError'; }
