// The child is ready when its Forward input accepts a connection. Probe by connecting and
// closing at once: no bytes are sent, so no receiver mistakes the probe for a client.
import { connect } from 'node:net';
import { parseForwardTo } from '../agent/forward/protocol.js';

/** True when `forwardTo` (tcp://HOST:PORT or unix:///PATH) accepted a connection within `timeoutMs`. */
export function probeConnect(forwardTo: string, timeoutMs: number): Promise<boolean> {
  const addr = parseForwardTo(forwardTo);
  return new Promise((resolve) => {
    const sock = addr.kind === 'tcp' ? connect({ host: addr.host, port: addr.port }) : connect({ path: addr.path });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Polls `forwardTo` every `intervalMs` until it accepts a connection (→ true), `timeoutMs`
 * passes (→ false) or `signal` aborts (→ false).
 */
export async function waitReady(
  forwardTo: string,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal; now?: () => number },
): Promise<boolean> {
  // Monotonic: a wall-clock step must neither end the wait early nor stretch it.
  const now = opts.now ?? (() => performance.now());
  const interval = opts.intervalMs ?? 200;
  const deadline = now() + opts.timeoutMs;
  while (!opts.signal?.aborted) {
    const left = deadline - now();
    if (left <= 0) return false;
    if (await probeConnect(forwardTo, Math.min(1000, left))) return !opts.signal?.aborted;
    const wait = Math.min(interval, deadline - now());
    if (wait <= 0) return false;
    await abortableSleep(wait, opts.signal);
  }
  return false;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      resolve();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}
