// Every metric warden exports, in one place: one registry per process, handed to the parts
// that update it (no module-level registry). Names carry the `warden_` prefix.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { KNOWN_LABELS, knownSeries } from './labels.js';

/** The event-loop delay histogram's sampling interval. */
export const EVENT_LOOP_RESOLUTION_MS = 100;

/**
 * `warden_nodejs_eventloop_lag_*` as real lag. monitorEventLoopDelay records the whole time between
 * two ticks of its timer, so an idle loop reads its resolution (prom-client's gauges showed
 * 0.25 s for a 250 ms timer); the lag is that minus the resolution. A 100 ms timer costs an idle
 * process ten cheap libuv wake-ups a second and still sees every stall longer than that.
 * `_lag_seconds` itself is prom-client's: the time a setImmediate waits at scrape time.
 */
function eventLoopLag(registry: Registry): void {
  const suffixes = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
  for (const s of suffixes) registry.removeSingleMetric(`warden_nodejs_eventloop_lag_${s}_seconds`);
  const h = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  h.enable();
  const res = EVENT_LOOP_RESOLUTION_MS * 1e6;
  const lag = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? Math.max(0, ns - res) / 1e9 : 0);
  const read = (): Record<(typeof suffixes)[number], number> => ({
    min: lag(h.min),
    max: lag(h.max),
    mean: lag(h.mean),
    stddev: h.count > 0 && Number.isFinite(h.stddev) ? h.stddev / 1e9 : 0,
    p50: lag(h.percentile(50)),
    p90: lag(h.percentile(90)),
    p99: lag(h.percentile(99)),
  });
  // A scrape collects in registration order: the first gauge takes the window's values for all of
  // them and starts a new window (as prom-client's did). After a reset the next tick only sets the
  // histogram's baseline: a stall in the first 100 ms after a scrape is not seen.
  let window = read();
  suffixes.forEach((s, i) => {
    new Gauge({
      name: `warden_nodejs_eventloop_lag_${s}_seconds`,
      help: `Event loop lag since the last scrape, ${s} (delay beyond the ${EVENT_LOOP_RESOLUTION_MS} ms sampling timer)`,
      registers: [registry],
      collect() {
        if (i === 0) {
          window = read();
          h.reset();
        }
        this.set(window[s]);
      },
    });
  });
}

// Long by design: the table of every metric, one line each.
export function createMetrics(opts: { defaults?: boolean; inputs?: string[] } = {}) {
  const registry = new Registry();
  // prom-client's own delay histogram cannot be turned off: at 1 s it costs one wake-up a second;
  // its gauges are replaced by eventLoopLag's.
  if (opts.defaults !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'warden_', eventLoopMonitoringPrecision: 1000 });
    eventLoopLag(registry);
  }
  const r = [registry];
  const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers: r });
  const gauge = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers: r });
  const metrics = {
    registry,
    // child
    childUp: gauge('warden_child_up', '1 while the child process is running'),
    childReady: gauge('warden_child_ready', '1 while the child accepts Forward connections'),
    childDegraded: gauge('warden_child_degraded', '1 while the child is in a crash loop (retried at the maximum delay)'),
    childBackpressure: gauge('warden_child_backpressure', "1 while the child's output says it cannot deliver (child.backpressure_patterns, within 5 x child.hang_timeout_s): unacked chunks then wait, no hung restart"),
    childRestarts: counter('warden_child_restarts_total', 'Child restarts by reason of the exit that caused them', ['reason']),
    childStarts: counter('warden_child_starts_total', 'Child process starts'),
    childLogDropped: counter('warden_child_log_dropped_total', "Child output lines dropped because warden's own log could not keep up"),
    logDropped: counter('warden_log_dropped_total', "Entries of warden's own log dropped because stdout did not take them (8 MiB waiting unwritten)"),
    zombieOrphans: gauge('warden_zombie_orphans', 'Zombies whose parent is PID 1 (nonzero when warden runs as PID 1 without tini)'),
    configReloads: counter(
      'warden_config_reloads_total',
      'Configuration reloads by result (applied, refused, unchanged) and trigger (signal: SIGHUP, watch: the file changed)',
      ['result', 'trigger'],
    ),
    // tail
    openFiles: gauge('warden_tail_open_files', 'File descriptors held open by the tail pipeline'),
    watchedFiles: gauge('warden_tail_files', 'Files known to the tail pipeline'),
    linesRead: counter('warden_tail_lines_read_total', 'Lines read by input', ['input']),
    bytesRead: counter('warden_tail_bytes_read_total', 'Bytes read by input', ['input']),
    lagBytes: gauge('warden_tail_lag_bytes', 'Bytes written to tailed files but not yet acknowledged, in total'),
    refused: counter('warden_tail_refused_total', 'Paths never opened, by reason', ['reason']),
    rotations: counter('warden_tail_rotations_total', 'Rotations seen, by kind', ['kind']),
    truncations: counter('warden_tail_truncations_total', 'Files found shorter than their offset (copytruncate), reread from 0'),
    watchRests: counter('warden_tail_watch_rests_total', "Times a busy directory's inotify watch rested until the flush tick (its writes no longer woke warden one by one)"),
    bytesLost: counter('warden_bytes_lost_total', 'Bytes given up, by reason (never silent)', ['reason']),
    parseErrors: counter('warden_parse_errors_total', 'Lines that did not parse as their format and were shipped as plain, by input', ['input']),
    truncatedLines: counter('warden_lines_truncated_total', 'Logical lines split at tail.max_line_bytes'),
    timeOutOfRange: counter(
      'warden_lines_time_out_of_range_total',
      'Lines whose own time a Forward EventTime cannot hold (before 1970, after 2106-02-07): sent with the read time, flagged time_out_of_range, by input',
      ['input'],
    ),
    checkpointWrites: counter('warden_checkpoint_writes_total', 'Checkpoint file writes by result', ['result']),
    // forward
    recordsSent: counter('warden_forward_records_sent_total', 'Records sent (resends included)'),
    chunksSent: counter('warden_forward_chunks_sent_total', 'Chunks sent, each counted once (its resends are chunks_resent); records_sent over the two together is the records per chunk written'),
    recordsAcked: counter('warden_forward_records_acked_total', 'Records acknowledged by the receiver'),
    chunksResent: counter('warden_forward_chunks_resent_total', 'Chunks sent again after an ack timeout or reconnect'),
    forwardConnected: gauge('warden_forward_connected', '1 while the Forward connection is up'),
    forwardInflight: gauge('warden_forward_inflight_chunks', 'Chunks sent and not yet acknowledged'),
    ackLatency: new Histogram({
      name: 'warden_forward_ack_latency_seconds',
      help: 'Time from sending a chunk to its ack',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
      registers: r,
    }),
    // budgets
    // One unit per family: who is pod (the container's cgroup), child (its process tree) or agent (warden).
    budgetCpu: gauge('warden_budget_cpu_millicores', 'Measured CPU in millicores, by who (pod, child, agent)', ['who']),
    budgetMemory: gauge('warden_budget_memory_bytes', 'Measured memory in bytes: pod working set, child tree, warden anonymous RSS', ['who']),
    budgetCpuLimit: gauge('warden_budget_cpu_limit_millicores', 'CPU budget in millicores (pod: the container quota)', ['who']),
    budgetMemoryLimit: gauge('warden_budget_memory_limit_bytes', 'Memory budget in bytes (pod: the container limit)', ['who']),
    budgetState: gauge('warden_budget_state', '1 for the current state of each resource\'s budget state machine', ['resource', 'state']),
    budgetViolations: counter('warden_budget_violations_total', 'Budget actions taken', ['who', 'resource', 'action']),
    // tail (appended)
    waitingFiles: gauge('warden_tail_waiting_files', 'Files waiting for a descriptor because tail.max_open_files are held'),
  };
  // Every listed label value at 0 from the first scrape, so alerts on them can be written before the first event.
  for (const [name, known] of Object.entries(KNOWN_LABELS)) {
    const c = metrics[name as keyof typeof KNOWN_LABELS] as Counter<string>;
    for (const labels of knownSeries(known)) c.inc(labels, 0);
  }
  for (const input of opts.inputs ?? []) {
    for (const c of [metrics.linesRead, metrics.bytesRead, metrics.parseErrors, metrics.timeOutOfRange]) c.inc({ input }, 0);
  }
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
