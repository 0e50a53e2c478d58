// A hung child is a dead child: alive, connected, but no ack for chunks sent to it for longer than
// child.hang_timeout_s. Checked once a second on the monotonic clock; a hung child is restarted.
// Not one that says its own output cannot deliver (supervisor/backpressure.ts): that one waits.
import type { Metrics } from '../agent/health/metrics.js';
import type { ForwardClient } from '../agent/forward/client.js';
import type { Config } from '../config/schema.js';
import type { ChildHandle, ChildStatus } from '../core/contracts.js';
import type { Logger } from '../core/log.js';
import type { BackpressureSeen } from './backpressure.js';

const CHECK_EVERY_MS = 1000;

export interface HangFacts {
  /** The Forward client's stalledMs(): time connected to this child with chunks unacked, since the last ack. */
  stalledMs: number;
  child: Pick<ChildStatus, 'state' | 'uptime_s'>;
  limitMs: number;
  /** The child's last line saying its output cannot deliver, when recent enough to hold (backpressure.ts). */
  backpressure: BackpressureSeen | null;
}

/**
 * True when the ready child has held chunks without an ack past the limit, counting only time it
 * was connected. Each start gets a full window: the client's count starts over with each child,
 * and time warden spent waiting to connect or reconnect is not the child's (a child that closed
 * its first connection would otherwise be killed after one attempt to reach it).
 */
export function isHung(f: HangFacts): boolean {
  if (f.child.state !== 'ready' || f.backpressure !== null) return false;
  return stalled(f);
}

function stalled(f: HangFacts): boolean {
  return f.stalledMs > f.limitMs && f.child.uptime_s * 1000 > f.limitMs;
}

export interface HangWatchOptions {
  child: Pick<ChildHandle, 'status' | 'restart'>;
  client: Pick<ForwardClient, 'stalledMs'>;
  current: { readonly config: Config; readonly stopping: boolean };
  /** The child's last line saying its output cannot deliver, if it still holds. */
  backpressure: () => BackpressureSeen | null;
  logger: Logger;
  metrics: Pick<Metrics, 'childBackpressure'>;
}

/** Starts the watch; the returned function ends it. */
export function startHangWatch(o: HangWatchOptions): () => void {
  // One warning per stall that back-pressure kept from being a restart.
  let waitingSaid = false;
  const timer = setInterval(() => {
    if (o.current.stopping) return;
    const backpressure = o.backpressure();
    o.metrics.childBackpressure.set(backpressure ? 1 : 0);
    const facts = { stalledMs: o.client.stalledMs(), child: o.child.status(), limitMs: o.current.config.child.hang_timeout_s * 1000, backpressure };
    if (!stalled(facts)) waitingSaid = false;
    else if (backpressure && !waitingSaid) {
      waitingSaid = true;
      o.logger.warn(
        { stalled_s: Math.round(facts.stalledMs / 1000), child_line: backpressure.line, line_age_s: Math.round(backpressure.agoMs / 1000) },
        "no ack for child.hang_timeout_s, but the child says its output cannot deliver: not restarted; the log files hold what it has not acked until its output recovers",
      );
    }
    if (!isHung(facts)) return;
    o.logger.error({ stalled_s: Math.round(facts.stalledMs / 1000) }, 'child accepts no acks for child.hang_timeout_s; restarting it as hung');
    void o.child.restart('hung');
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
