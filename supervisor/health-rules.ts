// When warden is ready and when it is live: the rules behind /readyz and /healthz. Ready means
// logs flow end to end; live means only that warden's loop answers and the child runs under policy.
import type { ForwardClient } from '../agent/forward/client.js';
import type { JournalInputs } from '../agent/journal/inputs.js';
import type { TailPipeline } from '../agent/tail/pipeline.js';
import type { Config } from '../config/schema.js';
import type { ChildHandle, HealthVerdict } from '../core/contracts.js';
import type { BackpressureSeen } from './backpressure.js';

/** What the rules look at; `current` is read on each call (a reload replaces its config). */
export interface HealthFacts {
  child: Pick<ChildHandle, 'status'>;
  client: Pick<ForwardClient, 'connected' | 'oldestPendingMs'>;
  tail: Pick<TailPipeline, 'checkpointHealth'>;
  journal: Pick<JournalInputs, 'cursorHealth'>;
  current: { readonly config: Config; readonly stopping: boolean };
  /** The child's last line saying its output cannot deliver, if it still holds (backpressure.ts). */
  backpressure: () => BackpressureSeen | null;
}

/** Ready: the child is ready, the Forward client connected, acks flowing, checkpoints and cursors written. */
export function readyVerdict(f: HealthFacts): HealthVerdict {
  const { config, stopping } = f.current;
  const reasons: string[] = [];
  const st = f.child.status();
  if (stopping) reasons.push('warden is stopping');
  if (st.state !== 'ready') reasons.push(`child is ${st.state}${st.degraded ? ' (degraded: crash loop)' : ''}${st.last_exit ? `, last exit ${st.last_exit.reason}` : ''}`);
  if (st.port_held_by) reasons.push(`Forward port ${config.forward.to} is held by pid ${st.port_held_by.pid} (${st.port_held_by.comm}), not by the child or its descendants`);
  else if (!f.client.connected) reasons.push(`no Forward connection to ${config.forward.to}`);
  const pendingMs = f.client.oldestPendingMs();
  const stallMs = Math.min(10_000, config.child.hang_timeout_s * 1000);
  if (pendingMs !== null && pendingMs > stallMs) {
    const said = f.backpressure();
    const why = said ? `; the child says its output cannot deliver (${Math.round(said.agoMs / 1000)}s ago: ${said.line})` : '';
    reasons.push(`acks are not flowing: oldest chunk pending for ${Math.round(pendingMs / 1000)}s${why}`);
  }
  const cp = f.tail.checkpointHealth();
  if (!cp.ok) reasons.push(`checkpoints cannot be written in ${config.state_dir}: ${cp.error}`);
  const jc = f.journal.cursorHealth();
  if (!jc.ok) reasons.push(`journal cursors cannot be written: ${jc.error}`);
  return { ok: reasons.length === 0, reasons };
}

/**
 * Live: never depends on outputs, only on warden's own loop (it answers) and on the child being
 * run under policy. A stopped child while warden is not stopping means policy failed.
 */
export function liveVerdict(f: Pick<HealthFacts, 'child' | 'current'>): HealthVerdict {
  const st = f.child.status();
  if (st.state === 'stopped' && !f.current.stopping) return { ok: false, reasons: ['child is stopped and not being restarted'] };
  return { ok: true, reasons: [] };
}
