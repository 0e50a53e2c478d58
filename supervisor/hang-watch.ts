// A hung child is a dead child: alive, connected, but no ack for chunks sent to it for longer than
// child.hang_timeout_s. Checked once a second on the monotonic clock; a hung child is restarted.
import type { ForwardClient } from '../agent/forward/client.js';
import type { Config } from '../config/schema.js';
import type { ChildHandle, ChildStatus } from '../core/contracts.js';
import type { Logger } from '../core/log.js';

const CHECK_EVERY_MS = 1000;

export interface HangFacts {
  /** The Forward client's stalledMs(): time connected to this child with chunks unacked, since the last ack. */
  stalledMs: number;
  child: Pick<ChildStatus, 'state' | 'uptime_s'>;
  limitMs: number;
}

/**
 * True when the ready child has held chunks without an ack past the limit, counting only time it
 * was connected. Each start gets a full window: the client's count starts over with each child,
 * and time warden spent waiting to connect or reconnect is not the child's (a child that closed
 * its first connection would otherwise be killed after one attempt to reach it).
 */
export function isHung(f: HangFacts): boolean {
  if (f.child.state !== 'ready') return false;
  return f.stalledMs > f.limitMs && f.child.uptime_s * 1000 > f.limitMs;
}

export interface HangWatchOptions {
  child: Pick<ChildHandle, 'status' | 'restart'>;
  client: Pick<ForwardClient, 'stalledMs'>;
  current: { readonly config: Config; readonly stopping: boolean };
  logger: Logger;
}

/** Starts the watch; the returned function ends it. */
export function startHangWatch(o: HangWatchOptions): () => void {
  const timer = setInterval(() => {
    if (o.current.stopping) return;
    const facts = { stalledMs: o.client.stalledMs(), child: o.child.status(), limitMs: o.current.config.child.hang_timeout_s * 1000 };
    if (!isHung(facts)) return;
    o.logger.error({ stalled_s: Math.round(facts.stalledMs / 1000) }, 'child accepts no acks for child.hang_timeout_s; restarting it as hung');
    void o.child.restart('hung');
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
