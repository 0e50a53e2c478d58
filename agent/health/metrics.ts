// Every metric warden exports, in one place: one registry per process, handed to the parts
// that update it (no module-level registry). Names carry the `warden_` prefix.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(opts: { defaults?: boolean } = {}) {
  const registry = new Registry();
  // The event-loop-delay monitor's default 10 ms resolution wakes an idle warden ~100 times a second.
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: 'warden_', eventLoopMonitoringPrecision: 250 });
  const r = [registry];
  return {
    registry,
    // child
    childUp: new Gauge({ name: 'warden_child_up', help: '1 while the child process is running', registers: r }),
    childReady: new Gauge({ name: 'warden_child_ready', help: '1 while the child accepts Forward connections', registers: r }),
    childDegraded: new Gauge({ name: 'warden_child_degraded', help: '1 while the child is in a crash loop (retried at the maximum delay)', registers: r }),
    childRestarts: new Counter({ name: 'warden_child_restarts_total', help: 'Child restarts by reason of the exit that caused them', labelNames: ['reason'] as const, registers: r }),
    childStarts: new Counter({ name: 'warden_child_starts_total', help: 'Child process starts', registers: r }),
    childLogDropped: new Counter({ name: 'warden_child_log_dropped_total', help: "Child output lines dropped because warden's own log could not keep up", registers: r }),
    zombieOrphans: new Gauge({ name: 'warden_zombie_orphans', help: 'Zombies whose parent is PID 1 (nonzero when warden runs as PID 1 without tini)', registers: r }),
    reloads: new Counter({ name: 'warden_reloads_total', help: 'Configuration reloads by result', labelNames: ['result'] as const, registers: r }),
    // tail
    openFiles: new Gauge({ name: 'warden_tail_open_files', help: 'File descriptors held open by the tail pipeline', registers: r }),
    watchedFiles: new Gauge({ name: 'warden_tail_files', help: 'Files known to the tail pipeline', registers: r }),
    linesRead: new Counter({ name: 'warden_tail_lines_read_total', help: 'Lines read by input', labelNames: ['input'] as const, registers: r }),
    bytesRead: new Counter({ name: 'warden_tail_bytes_read_total', help: 'Bytes read by input', labelNames: ['input'] as const, registers: r }),
    lagBytes: new Gauge({ name: 'warden_tail_lag_bytes', help: 'Bytes written to tailed files but not yet acknowledged, in total', registers: r }),
    refused: new Counter({ name: 'warden_tail_refused_total', help: 'Paths never opened, by reason', labelNames: ['reason'] as const, registers: r }),
    rotations: new Counter({ name: 'warden_tail_rotations_total', help: 'Rotations seen, by kind', labelNames: ['kind'] as const, registers: r }),
    truncations: new Counter({ name: 'warden_tail_truncations_total', help: 'Files found shorter than their offset (copytruncate), reread from 0', registers: r }),
    bytesLost: new Counter({ name: 'warden_bytes_lost_total', help: 'Bytes given up, by reason (never silent)', labelNames: ['reason'] as const, registers: r }),
    parseErrors: new Counter({ name: 'warden_parse_errors_total', help: 'Lines that did not parse as their format and were shipped as plain, by input', labelNames: ['input'] as const, registers: r }),
    truncatedLines: new Counter({ name: 'warden_lines_truncated_total', help: 'Logical lines split at tail.max_line_bytes', registers: r }),
    checkpointWrites: new Counter({ name: 'warden_checkpoint_writes_total', help: 'Checkpoint file writes by result', labelNames: ['result'] as const, registers: r }),
    // forward
    recordsSent: new Counter({ name: 'warden_forward_records_sent_total', help: 'Records sent (resends included)', registers: r }),
    recordsAcked: new Counter({ name: 'warden_forward_records_acked_total', help: 'Records acknowledged by the receiver', registers: r }),
    chunksResent: new Counter({ name: 'warden_forward_chunks_resent_total', help: 'Chunks sent again after an ack timeout or reconnect', registers: r }),
    forwardConnected: new Gauge({ name: 'warden_forward_connected', help: '1 while the Forward connection is up', registers: r }),
    forwardInflight: new Gauge({ name: 'warden_forward_inflight_chunks', help: 'Chunks sent and not yet acknowledged', registers: r }),
    ackLatency: new Histogram({
      name: 'warden_forward_ack_latency_seconds',
      help: 'Time from sending a chunk to its ack',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
      registers: r,
    }),
    // budgets
    budgetUsage: new Gauge({ name: 'warden_budget_usage', help: 'Measured usage (cpu in millicores, memory in bytes)', labelNames: ['who', 'resource'] as const, registers: r }),
    budgetLimit: new Gauge({ name: 'warden_budget_limit', help: 'Budget in force (cpu in millicores, memory in bytes)', labelNames: ['who', 'resource'] as const, registers: r }),
    budgetViolations: new Counter({ name: 'warden_budget_violations_total', help: 'Budget actions taken', labelNames: ['who', 'resource', 'action'] as const, registers: r }),
    // tail (appended)
    waitingFiles: new Gauge({ name: 'warden_tail_waiting_files', help: 'Files waiting for a descriptor because tail.max_open_files are held', registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
