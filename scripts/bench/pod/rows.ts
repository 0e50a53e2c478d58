// The pod section's table rows from its results: a row's note, the warden pod's targets against
// the ceiling and the seed, and what the warden pod did with its budget (the pod's CPU as a share
// of its quota, its peak memory against its limit, the governor's transitions).
import type { Row } from '../row.js';
import { formatTransitions } from './budget-log.js';
import type { PodResult } from './run.js';

const MiB = 1048576;

const mib = (b: number | null) => (b === null ? '—' : (b / MiB).toFixed(0));

/** Lines delivered per second over the drain. */
export function podRate(r: PodResult): number {
  return Math.min(r.delivered, r.expected) / r.seconds;
}

/** The whole pod's average CPU over the drain, millicores; null where the cgroup's usage was unreadable. */
export function podMillicores(r: PodResult): number | null {
  return r.podCpuSeconds === null ? null : (r.podCpuSeconds / r.seconds) * 1000;
}

/** Records that reached the receiver after the row ended (resent as its programs stopped). */
function lateNote(r: PodResult): string {
  return r.late ? ` (+${r.late.toLocaleString('en-US')} after the row ended: resent as it stopped)` : '';
}

/**
 * The CPU warden and fluentd each spent until warden's checkpoint covered the tree, in `wrap`
 * (`warden 0.45 CPU-s, fluentd 0.30 CPU-s`); '' where neither was measured.
 */
function backlogSplit(r: PodResult, wrap: (split: string) => string): string {
  const b = r.backlog;
  const split = [
    b?.wardenCpuSeconds == null ? null : `warden ${b.wardenCpuSeconds.toFixed(2)} CPU-s`,
    b?.fluentdCpuSeconds == null ? null : `fluentd ${b.fluentdCpuSeconds.toFixed(2)} CPU-s`,
  ]
    .filter(Boolean)
    .join(', ');
  return split ? wrap(split) : '';
}

export function podNote(r: PodResult): string {
  const s = r.stats;
  const m = podMillicores(r);
  const parts = [
    `wall ${r.wallSeconds.toFixed(1)} s (boot ${r.bootSeconds.toFixed(1)} s, then ${r.seconds.toFixed(1)} s from ready to the last line delivered)`,
    r.halfSeconds === null ? null : `half delivered after ${r.halfSeconds.toFixed(1)} s`,
    r.backlog === null ? null : r.backlog.seconds <= 0 ? 'every line acked before the pod was seen ready' : `every line acked (warden's checkpoint covered the tree) after ${r.backlog.seconds.toFixed(1)} s${backlogSplit(r, (x) => ` (${x} by then)`)}`,
    m === null ? null : `pod CPU ${m.toFixed(0)}m of ${r.quotaMillicores}m`,
    `peak ${mib(s.peakBytes)} MiB (working set ${mib(r.peakWorkingSet)}, unreclaimable ${mib(r.peakUnreclaimable)})`,
    `OOM kills ${s.oomKills ?? '—'}`,
    `throttled periods ${s.throttledPeriods ?? '—'}`,
    r.wardenCpuPerM === null ? null : `warden ${r.wardenCpuPerM.toFixed(2)} CPU-s/M`,
    r.recordsPerChunk === null ? null : `${r.recordsPerChunk.toFixed(0)} records per chunk to the child`,
    r.fluentdCpuPerM === null ? null : `${r.kind === 'fluent-bit' ? 'Fluent Bit' : 'fluentd'} ${r.fluentdCpuPerM.toFixed(2)} CPU-s/M`,
    `delivered ${r.delivered.toLocaleString('en-US')}/${r.expected.toLocaleString('en-US')}${lateNote(r)}`,
  ];
  return parts.filter(Boolean).join(' · ');
}

/** The warden pod against the ceiling and the seed, and its own targets; `w` absent when it did not run. */
export function targetRows(w: PodResult | undefined, ceiling: PodResult | undefined, seed: PodResult | undefined, judge: (ok: boolean) => boolean | null): Row[] {
  const ratio = (of: PodResult | undefined) => (w && of ? podRate(w) / podRate(of) : null);
  const missing = (why: string) => (w ? why : 'the warden pod did not run');
  const vsCeiling = ratio(ceiling);
  const vsSeed = ratio(seed);
  const peak = w?.stats.peakBytes == null ? null : w.stats.peakBytes / MiB;
  const peakNote = w
    ? `${((w.stats.peakBytes ?? 0) / w.limitBytes * 100).toFixed(0)}% of the ${w.limitBytes / MiB}Mi limit (cgroup ${w.cgroup} ${w.cgroup === 'v1' ? 'memory.max_usage_in_bytes' : 'memory.peak'}, page cache included; working set at most ${mib(w.peakWorkingSet)} MiB, unreclaimable at most ${mib(w.peakUnreclaimable)} MiB)`
    : missing('');
  return [
    { section: 'pod', metric: 'warden pod / ceiling', value: vsCeiling, unit: '×', target: '≥ 0.9', met: vsCeiling === null ? null : judge(vsCeiling >= 0.9), note: vsCeiling === null ? missing('the ceiling row did not run') : undefined },
    { section: 'pod', metric: 'warden pod / seed', value: vsSeed, unit: '×', target: '≥ 3', met: vsSeed === null ? null : judge(vsSeed >= 3), note: vsSeed === null ? missing('the seed row did not run') : undefined },
    { section: 'pod', metric: 'warden pod peak cgroup memory', value: peak, unit: 'MiB', target: '≤ 150', met: peak === null ? null : judge(peak <= 150), note: peakNote },
    { section: 'pod', metric: 'warden pod OOM kills', value: w?.stats.oomKills ?? null, unit: '', target: '0', met: w?.stats.oomKills == null ? null : judge(w.stats.oomKills === 0), note: w ? undefined : missing('') },
    { section: 'pod', metric: 'warden pod delivered / expected', value: w ? w.delivered / w.expected : null, unit: '×', target: '1', met: w ? judge(w.delivered >= w.expected) : null, note: w ? `${w.delivered.toLocaleString('en-US')} of ${w.expected.toLocaleString('en-US')} lines${lateNote(w)}` : missing('') },
    { section: 'pod', metric: 'warden CPU per million lines in the pod', value: w?.wardenCpuPerM ?? null, unit: 'CPU-s', target: '≤ 2', met: w?.wardenCpuPerM == null ? null : judge(w.wardenCpuPerM <= 2), note: w ? 'utime+stime of warden alone, at the pod\'s rate' : missing('') },
  ];
}

/** What the warden pod did with its budget: the pod's CPU against its quota, and the governor's transitions. */
export function budgetRows(w: PodResult | undefined, judge: (ok: boolean) => boolean | null): Row[] {
  const m = w ? podMillicores(w) : null;
  const quota = w?.quotaMillicores ?? 200;
  const cpuNote = !w
    ? 'the warden pod did not run'
    : m === null
      ? 'the pod cgroup\'s CPU usage was unreadable'
      : `${m.toFixed(0)}m average: ${w.podCpuSeconds!.toFixed(1)} CPU-s of the whole pod (cgroup ${w.cgroup} ${w.cgroup === 'v1' ? 'cpuacct.usage' : 'cpu.stat usage_usec'}) over the ${w.seconds.toFixed(1)} s drain; throttled periods ${w.stats.throttledPeriods ?? '—'}`;
  const total = w ? w.transitions.reduce((a, t) => a + t.count, 0) : null;
  const b = w?.backlog ?? null;
  const backlogShare = b?.podCpuSeconds == null || b.seconds <= 0 ? null : (b.podCpuSeconds / b.seconds / (quota / 1000)) * 100;
  const backlogNote = !w
    ? 'the warden pod did not run'
    : b !== null && b.seconds <= 0
      ? 'warden\'s checkpoint covered the whole tree before the pod was seen ready (polled every 150 ms): a tree too small to measure this'
      : backlogShare === null
        ? 'warden\'s checkpoint never covered the whole tree, or the pod\'s CPU usage was unreadable'
      : `${b!.podCpuSeconds!.toFixed(2)} CPU-s${backlogSplit(w!, (x) => ` (${x})`)} over the ${b!.seconds.toFixed(1)} s from ready to the ack after which warden's checkpoint covered every byte of the tree; after it the backlog is in fluentd's buffer, bound by its output`;
  return [
    { section: 'pod', metric: `warden pod CPU while a backlog waits in the files, share of its ${quota}m quota`, value: backlogShare, unit: '%', target: '≥ 90', met: backlogShare === null ? null : judge(backlogShare >= 90), note: backlogNote },
    { section: 'pod', metric: `warden pod CPU, share of its ${quota}m quota`, value: m === null ? null : (m / quota) * 100, unit: '%', note: cpuNote },
    { section: 'pod', metric: 'warden pod budget state transitions', value: total, unit: '', note: w ? `${formatTransitions(w.transitions)} (warden's log: ${w.wardenLog})` : 'the warden pod did not run' },
  ];
}
