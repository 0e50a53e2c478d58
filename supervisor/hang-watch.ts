// A hung child is a dead child: alive, but no ack for chunks pending longer than
// child.hang_timeout_s. Checked once a second on the monotonic clock; a hung child is restarted.
import type { ForwardClient } from '../agent/forward/client.js';
import type { Config } from '../config/schema.js';
import type { ChildHandle, ChildStatus } from '../core/contracts.js';
import type { Logger } from '../core/log.js';

const CHECK_EVERY_MS = 1000;

export interface HangFacts {
  pendingMs: number | null;
  sinceAckMs: number | null;
  child: Pick<ChildStatus, 'state' | 'uptime_s'>;
  limitMs: number;
}

/**
 * True when the ready child has let chunks wait past the limit with no ack in that time. Each
 * start gets a full window: chunks pending, and the last ack, from before this child started say
 * nothing about it.
 */
export function isHung(f: HangFacts): boolean {
  if (f.child.state !== 'ready' || f.pendingMs === null) return false;
  const sinceAck = f.sinceAckMs ?? Infinity;
  return f.pendingMs > f.limitMs && sinceAck > f.limitMs && f.child.uptime_s * 1000 > f.limitMs;
}

export interface HangWatchOptions {
  child: Pick<ChildHandle, 'status' | 'restart'>;
  client: Pick<ForwardClient, 'oldestPendingMs' | 'sinceLastAckMs'>;
  current: { readonly config: Config; readonly stopping: boolean };
  logger: Logger;
}

/** Starts the watch; the returned function ends it. */
export function startHangWatch(o: HangWatchOptions): () => void {
  const timer = setInterval(() => {
    if (o.current.stopping) return;
    const pendingMs = o.client.oldestPendingMs();
    const facts = { pendingMs, sinceAckMs: o.client.sinceLastAckMs(), child: o.child.status(), limitMs: o.current.config.child.hang_timeout_s * 1000 };
    if (!isHung(facts)) return;
    o.logger.error({ pending_s: Math.round(pendingMs! / 1000) }, 'child accepts no acks for child.hang_timeout_s; restarting it as hung');
    void o.child.restart('hung');
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
