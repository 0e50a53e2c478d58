// The /status snapshot: one JSON object with what an operator asks first — the child, the Forward
// connection, budgets, checkpoints, lagging files, journal inputs and the last reload.
import type { ForwardClient } from '../agent/forward/client.js';
import type { JournalInputs } from '../agent/journal/inputs.js';
import type { TailPipeline } from '../agent/tail/pipeline.js';
import type { Config } from '../config/schema.js';
import type { HealthVerdict } from '../core/contracts.js';
import type { BackpressureSeen } from './backpressure.js';
import type { BudgetGovernor } from './budgets/governor.js';
import type { ChildSupervisor } from './child.js';
import type { Reloader } from './reload.js';
import { VERSION } from './version.js';

export interface StatusSources {
  child: Pick<ChildSupervisor, 'status' | 'forwardPortHolders'>;
  client: Pick<ForwardClient, 'connected' | 'inflight' | 'lastAckAt' | 'sinceLastAckMs' | 'oldestPendingMs'>;
  tail: Pick<TailPipeline, 'checkpointHealth' | 'lagBytes' | 'files'>;
  journal: Pick<JournalInputs, 'status'>;
  governor: Pick<BudgetGovernor, 'snapshot'>;
  reloader: Pick<Reloader, 'hash' | 'last'>;
  current: { readonly config: Config };
  /** Where the running config came from (a path, or `built-in defaults`). */
  source: string;
  ready: () => HealthVerdict;
  backpressure: () => BackpressureSeen | null;
}

export function statusSnapshot(s: StatusSources) {
  const config = s.current.config;
  return {
    version: VERSION,
    // The runtime and its V8 flags (package.json config.nodeFlags, built into the binary).
    runtime: { node: process.version, exec_argv: process.execArgv },
    node_name: config.node_name,
    config: s.source,
    config_hash: s.reloader.hash,
    ready: s.ready(),
    child: s.child.status(),
    // The child's last line saying its output cannot deliver, while it holds (no hung restart then).
    child_backpressure: backpressureOf(s.backpressure()),
    forward: {
      to: config.forward.to,
      connected: s.client.connected,
      inflight: s.client.inflight(),
      max_inflight: config.forward.max_inflight_batches,
      last_ack_at: isoOrNull(s.client.lastAckAt()),
      last_ack_age_s: secondsOrNull(s.client.sinceLastAckMs()),
      oldest_pending_s: secondsOrNull(s.client.oldestPendingMs()),
      // Who else listens on the Forward port: what warden ships may be going there, not to its child.
      port_holders: s.child.forwardPortHolders(),
    },
    // Each input's globs, so a reader can show file paths relative to their input's directory.
    inputs: config.inputs.map((i) => ({ name: i.name, paths: i.paths })),
    budgets: s.governor.snapshot(),
    checkpoints: s.tail.checkpointHealth(),
    lag_bytes: s.tail.lagBytes(),
    files: s.tail.files(),
    journal: s.journal.status(),
    reload: s.reloader.last,
  };
}

function backpressureOf(b: BackpressureSeen | null): { line: string; seen_s_ago: number } | null {
  return b === null ? null : { line: b.line, seen_s_ago: seconds(b.agoMs) };
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

function secondsOrNull(ms: number | null): number | null {
  return ms === null ? null : seconds(ms);
}

/** Wall clock: a timestamp shown to users. */
function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
