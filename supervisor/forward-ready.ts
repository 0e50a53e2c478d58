// The child is ready when warden's own Forward client is connected to it: the connection accepted
// and, with a shared key, the HELO/PING/PONG handshake passed. A bare TCP connect says only that
// something owns the port — another process squatting on it passes that too.
import type { EventEmitter } from 'node:events';

/**
 * Resolves true at the client's next `connected` event (one made after this call: a connection
 * still open from the previous child says nothing about this one), false after `timeoutMs` or
 * when `signal` aborts.
 */
export function nextForwardConnection(client: EventEmitter, opts: { timeoutMs: number; signal: AbortSignal }): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('connected', onConnected);
      opts.signal.removeEventListener('abort', onAbort);
      resolve(ok && !opts.signal.aborted);
    };
    const onConnected = () => done(true);
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), opts.timeoutMs);
    client.on('connected', onConnected);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    if (opts.signal.aborted) done(false);
  });
}
