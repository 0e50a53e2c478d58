// The bench's sections, each appending its rows to the run's context (and, where it measures one,
// the Node baseline, the drain or a CPU profile that later sections and the report use). Every
// section is bounded in time by runSection; one that fails is a row carrying its error.
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { baseline, type BaselineResult } from './baseline.js';
import { drain, type DrainResult } from './drain.js';
import { idle } from './idle.js';
import { DEFAULT_FLUSH_INTERVAL_MS } from '../../config/schema.js';
import { latency } from './latency.js';
import type { BenchOptions } from './options.js';
import { onPath, runOther, type Other } from './others.js';
import { pickup } from './pickup.js';
import { podSection } from './pod.js';
import { bareNodeRss } from './proc.js';
import { topSelfTime, type HotFunction } from './profile.js';
import { runSection, type Row } from './row.js';
import { findDockerFiles, generateDockerTree, warmAndCount, type DockerTree } from './tree.js';
import { binaryRuntime, ROOT, THIS_CHECKOUT, type Checkout } from './warden.js';

const MiB = 1048576;
const DRAIN_RUNS = 3;
/** The pod section's node: 20 containers, about 200,000 lines (issue 14's node; these lines run a little longer). */
const POD_TREE = { mib: 41.5, containers: 20 };
/** The flush interval the latency section also runs at: the one for users who want lines soon. */
const LOW_LATENCY_FLUSH_MS = 100;

/** Sizes of the live sections (quick: the smoke test's). */
export function sectionSizes(quick: boolean) {
  return quick
    ? { latency: { rate: 2000, seconds: 3, files: 2, warmupS: 0.5 }, idleFiles: 100, idleS: 2, idleSettleS: 0.5, pickupFiles: 300, pod: { mib: 0.25, containers: 4 }, steady: { rate: 200, seconds: 2, files: 2, warmupS: 0.5 } }
    : { latency: { rate: 10_000, seconds: 15, files: 4, warmupS: 1 }, idleFiles: 1000, idleS: 30, idleSettleS: 20, pickupFiles: 10_000, pod: POD_TREE, steady: { rate: 1000, seconds: 60, files: 4, warmupS: 15 } };
}

export interface BenchContext {
  opts: BenchOptions;
  log: (line: string) => void;
  quick: boolean;
  judge: (ok: boolean) => boolean | null;
  sizes: ReturnType<typeof sectionSizes>;
  /** The run's temp dir. */
  work: string;
  /** `lines, MiB, files` of the drain's tree, for notes. */
  treeNote: string;
  beforeAfter?: { checkout: Checkout; rounds: number };
  rows: Row[];
  parseBase: BaselineResult | null;
  drained: DrainResult | null;
  profile: { file: string; totalMs: number; top: HotFunction[] } | null;
}

/** Node's own read + split (+ JSON.parse) of the tree: the ceiling the drain is compared with. */
export async function baselineSection(c: BenchContext, tree: DockerTree): Promise<void> {
  const { log, quick, treeNote, rows } = c;
  log('baseline: Node read + split (+ JSON.parse)');
  rows.push(
    ...(await runSection('baseline', 300_000, async () => {
      const split = baseline(tree.files, false, quick ? 1 : 3);
      const b = baseline(tree.files, true, quick ? 1 : 3);
      c.parseBase = b;
      return [
        { section: 'baseline', metric: 'Node read + split', value: split.lines / split.seconds, unit: 'lines/s', note: `${(split.bytes / MiB / split.seconds).toFixed(0)} MiB/s; best of ${quick ? 1 : 3}` },
        { section: 'baseline', metric: 'Node read + split + JSON.parse', value: b.lines / b.seconds, unit: 'lines/s', note: `${(b.bytes / MiB / b.seconds).toFixed(0)} MiB/s; ${treeNote}` },
      ];
    })),
  );
}

/** warden draining the tree as a backlog (best of DRAIN_RUNS), and a governor-off ceiling drain. */
export async function drainSection(c: BenchContext, tree: DockerTree): Promise<void> {
  const { log, quick, judge, work, treeNote, rows } = c;
  log('drain: warden read_from head → warden sink --count-only');
  const bound = 60_000 + (tree.bytes / MiB) * 1000;
  rows.push(
    ...(await runSection('drain', (bound + 30_000) * (DRAIN_RUNS + 1), async (scope) => {
      // Best of DRAIN_RUNS, as the baseline is best of 3: one drain lasts seconds, and a noisy
      // neighbour on a shared machine moves a single run by 20%. Peak RSS is the worst run's.
      const runs: DrainResult[] = [];
      for (let i = 0; i < (quick ? 1 : DRAIN_RUNS); i++) runs.push(await drain(scope, join(work, `drain${i}`), tree, bound));
      const d = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      // How fast warden goes with its governor out of the way: context, never the headline.
      const off = await drain(scope, join(work, 'drain-governor-off'), tree, bound, [], true);
      const peakRss = Math.max(...runs.map((r) => r.peakRssMiB));
      c.drained = d;
      const rate = d.lines / d.seconds;
      const perM = d.cpuSeconds / (d.lines / 1e6);
      const each = runs.map((r) => `${Math.round(r.lines / r.seconds / 1000)}k/s at ${(r.cpuSeconds / (r.lines / 1e6)).toFixed(2)}`).join(', ');
      const base = c.parseBase;
      const ratio = base ? rate / (base.lines / base.seconds) : null;
      const gib = d.bytes >= 1024 * MiB;
      return [
        { section: 'drain', metric: 'end to end (file → parse → Forward → acked)', value: rate, unit: 'lines/s', note: `${d.seconds.toFixed(2)} s from first read (${d.secondsFromSpawn.toFixed(2)} s from spawn); ${treeNote}; best of ${runs.length}: ${each} CPU-s/M` },
        { section: 'drain', metric: 'end to end', value: d.bytes / MiB / d.seconds, unit: 'MiB/s' },
        { section: 'drain', metric: 'ceiling: governor off (budgets 4000m / 4 GiB, cpu_action none)', value: off.lines / off.seconds, unit: 'lines/s', note: `${(off.cpuSeconds / (off.lines / 1e6)).toFixed(2)} CPU-s/M; peak RSS ${off.peakRssMiB.toFixed(0)} MiB` },
        { section: 'drain', metric: 'ratio to Node read+split+JSON.parse', value: ratio, unit: '×', target: '≥ 0.35', met: ratio === null ? null : judge(ratio >= 0.35), note: ratio === null ? 'baseline not run' : undefined },
        { section: 'drain', metric: 'warden CPU per million lines', value: perM, unit: 'CPU-s', target: '≤ 1.5', met: judge(perM <= 1.5), note: 'utime+stime of warden alone' },
        { section: 'drain', metric: 'warden peak RSS while draining', value: peakRss, unit: 'MiB', target: '≤ 96 (1 GiB backlog)', met: judge(peakRss <= 96), note: `VmHWM, the highest of ${runs.length} runs${gib ? '' : `; backlog ${(d.bytes / MiB).toFixed(0)} MiB, not 1 GiB`}` },
        { section: 'drain', metric: 'sink (child) CPU per million lines', value: d.sinkCpuSeconds === null ? null : d.sinkCpuSeconds / (d.lines / 1e6), unit: 'CPU-s', note: 'context: the receiver shares the cores' },
      ];
    })),
  );
}

/** A further drain under node --cpu-prof, summarised by self time. */
export async function profileSection(c: BenchContext, tree: DockerTree, profDir: string): Promise<void> {
  const { log, work, rows } = c;
  const dir = resolve(profDir);
  mkdirSync(dir, { recursive: true });
  log(`profile: a second drain under node --cpu-prof into ${dir}`);
  const bound = 60_000 + (tree.bytes / MiB) * 2000;
  let pid = 0;
  const failed = await runSection('profile', bound + 30_000, async (scope) => {
    const d = await drain(scope, join(work, 'profile'), tree, bound, ['--cpu-prof', '--cpu-prof-dir', dir]);
    pid = d.pid;
    return [];
  });
  rows.push(...failed);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
  if (pid && file) c.profile = { file: join(dir, file), ...topSelfTime(join(dir, file), 15, ROOT) };
  else if (pid) rows.push({ section: 'profile', metric: 'failed', value: null, unit: '', note: `no .cpuprofile of pid ${pid} in ${dir}` });
}

/** Write → sink latency and ack latency at a steady rate, tailed from the end. */
export async function latencySection(c: BenchContext): Promise<void> {
  const { log, judge, work, sizes, rows } = c;
  const l = sizes.latency;
  // The shipped default, then the lower setting a user who wants latency would pick (labelled).
  const runs = [
    { flushMs: DEFAULT_FLUSH_INTERVAL_MS, label: '', forward: undefined },
    { flushMs: LOW_LATENCY_FLUSH_MS, label: `, forward.flush_interval_ms ${LOW_LATENCY_FLUSH_MS} (not the default)`, forward: { flush_interval_ms: LOW_LATENCY_FLUSH_MS } },
  ];
  for (const run of runs) {
    log(`latency: ${l.rate} lines/s for ${l.seconds} s into ${l.files} files, tailed from the end, flush every ${run.flushMs} ms`);
    // A line waits at most one flush interval in warden by design; the target is what comes on top.
    const target = run.flushMs + 100;
    rows.push(
      ...(await runSection('latency', (l.seconds + 90) * 1000, async (scope) => {
        const r = await latency(scope, join(work, `latency-${run.flushMs}`), { ...l, forward: run.forward });
        const note = `${r.counted.toLocaleString('en-US')} lines after a ${l.warmupS} s warm-up`;
        return [
          { section: 'latency', metric: `steady write rate achieved${run.label}`, value: r.achievedRate, unit: 'lines/s', note: `${l.files} files, ${l.seconds} s` },
          { section: 'latency', metric: `write → sink receipt p50${run.label}`, value: r.p50ms, unit: 'ms', note },
          { section: 'latency', metric: `write → sink receipt p99${run.label}`, value: r.p99ms, unit: 'ms', target: `≤ ${target}`, met: judge(r.p99ms <= target), note: `max ${r.maxms.toFixed(0)} ms (line written at +${r.maxAtS.toFixed(1)} s); ${r.overOneS} lines over 1 s; target: the flush interval + 100 ms` },
          { section: 'latency', metric: `send → ack p50 (warden_forward_ack_latency_seconds)${run.label}`, value: r.ackP50ms, unit: 'ms', note: 'interpolated within histogram buckets' },
          { section: 'latency', metric: `send → ack p99 (warden_forward_ack_latency_seconds)${run.label}`, value: r.ackP99ms, unit: 'ms', target: '≤ 200', met: r.ackP99ms === null ? null : judge(r.ackP99ms <= 200) },
          { section: 'latency', metric: `warden CPU at this rate${run.label}`, value: r.cpuPercent, unit: '% of a core', note: r.rssMiB === null ? undefined : `RSS ${r.rssMiB.toFixed(0)} MiB` },
        ];
      })),
    );
  }
}

/** The plain node to compare an idle warden with: the binary's own runtime, else this node. */
function idleScale(): string {
  return (THIS_CHECKOUT.runtime === 'binary' ? binaryRuntime(THIS_CHECKOUT) : null) ?? process.execPath;
}

/** warden's CPU and RSS with many quiet files. */
export async function idleSection(c: BenchContext): Promise<void> {
  const { log, judge, work, sizes, rows } = c;
  log(`idle: ${sizes.idleFiles} quiet files, ${sizes.idleS} s`);
  rows.push(
    ...(await runSection('idle', (sizes.idleS + sizes.idleSettleS + 120) * 1000, async (scope) => {
      const r = await idle(scope, join(work, 'idle'), sizes.idleFiles, sizes.idleS, sizes.idleSettleS);
      return [
        { section: 'idle', metric: `warden CPU, ${r.files} quiet files`, value: r.cpuPercent, unit: '% of a core', target: '≤ 1', met: judge(r.cpuPercent <= 1), note: `over ${sizes.idleS} s, no scrapes; ${r.openFiles} files open` },
        {
          section: 'idle',
          metric: `warden RSS, ${r.files} quiet files`,
          value: r.rssMiB,
          unit: 'MiB',
          target: '≤ 60',
          met: judge(r.rssMiB <= 60),
          note: `${r.anonMiB.toFixed(0)} MiB anonymous + ${r.fileMiB.toFixed(0)} MiB file pages (the mapped ${THIS_CHECKOUT.runtime === 'binary' ? 'single executable' : 'node binary'}; bare ${bareNodeRss(idleScale())})`,
        },
      ];
    })),
  );
}

/** The time from many new files to all of them acked. */
export async function pickupSection(c: BenchContext): Promise<void> {
  const { log, judge, work, sizes, rows } = c;
  log(`pickup: ${sizes.pickupFiles} new files while warden runs`);
  rows.push(
    ...(await runSection('pickup', 150_000, async (scope) => {
      const r = await pickup(scope, join(work, 'pickup'), sizes.pickupFiles, 90_000);
      return [
        { section: 'pickup', metric: `${r.files} new files (1 line each) → all acked`, value: r.seconds, unit: 's', target: '≤ 10', met: judge(r.seconds <= 10), note: `from the first file created; creating them took ${r.createSeconds.toFixed(2)} s` },
      ];
    })),
  );
}

/** Fluent Bit and fluentd on the same tree, where installed, and warden's ratio to each. */
export async function othersSection(c: BenchContext, tree: DockerTree): Promise<void> {
  const { log, judge, work, rows } = c;
  const d = c.drained;
  const wardenRate = d ? d.lines / d.seconds : null;
  for (const which of ['fluent-bit', 'fluentd'] as Other[]) {
    const program = onPath(which);
    const label = which === 'fluent-bit' ? 'Fluent Bit tail → forward (acks)' : 'fluentd in_tail → forward (acks)';
    if (!program) {
      rows.push({ section: which, metric: label, value: null, unit: 'lines/s', note: `skipped: ${which} not on PATH` });
      rows.push({ section: which, metric: `warden / ${which}`, value: null, unit: '×', target: which === 'fluent-bit' ? '≥ 1.5' : undefined, note: `skipped: ${which} not on PATH` });
      continue;
    }
    log(`${which}: ${program} on the same tree into warden sink --count-only`);
    rows.push(
      ...(await runSection(which, 600_000, async (scope) => {
        const r = await runOther(scope, join(work, which), which, program, tree, 540_000);
        const rate = tree.lines / r.seconds;
        const ratio = wardenRate === null ? null : wardenRate / rate;
        return [
          { section: which, metric: label, value: rate, unit: 'lines/s', note: `${(tree.bytes / MiB / r.seconds).toFixed(0)} MiB/s; ${(r.cpuSeconds / (tree.lines / 1e6)).toFixed(2)} CPU-s per million lines; peak RSS ${r.peakRssMiB.toFixed(0)} MiB` },
          { section: which, metric: `warden / ${which}`, value: ratio, unit: '×', target: which === 'fluent-bit' ? '≥ 1.5' : undefined, met: ratio === null || which !== 'fluent-bit' ? null : judge(ratio >= 1.5), note: ratio === null ? 'drain not run' : undefined },
        ];
      })),
    );
  }
}

/** The pod section on its own tree (scripts/bench/pod.ts). */
export async function podBenchSection(c: BenchContext): Promise<void> {
  const { log, quick, judge, work, sizes, opts, rows } = c;
  // Its own tree (the seed's node, not the drain's backlog), under --tree DIR/pod when given.
  const root = opts.tree ? join(resolve(opts.tree), 'pod') : join(work, 'podtree');
  let files = findDockerFiles(root);
  if (files.length === 0) files = generateDockerTree(root, (opts.podMib ?? sizes.pod.mib) * MiB, sizes.pod.containers).files;
  const podTree = warmAndCount(root, files);
  log(`pod: ${podTree.files.length} files, ${podTree.lines} lines, ${(podTree.bytes / MiB).toFixed(1)} MiB; each pod in a 200m / 200Mi cgroup`);
  const profDir = opts.cpuProfDir ? join(resolve(opts.cpuProfDir), 'pod') : null;
  if (profDir) mkdirSync(profDir, { recursive: true });
  let podWarden = 0;
  const rowBound = quick ? 60_000 : 300_000;
  const podBound = c.beforeAfter ? rowBound * 2 * c.beforeAfter.rounds + 60_000 : rowBound * 6 + (sizes.steady.warmupS + sizes.steady.seconds + 180) * 1000;
  rows.push(
    ...(await runSection('pod', podBound, (scope) =>
      podSection({
        scope,
        dir: join(work, 'pod'),
        tree: podTree,
        quick,
        judge,
        steady: sizes.steady,
        timeoutMs: rowBound,
        nodeFlags: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
        log,
        onWardenPid: (pid) => (podWarden = pid),
        baseline: c.beforeAfter,
      }),
    )),
  );
  const file = profDir && podWarden ? readdirSync(profDir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${podWarden}.`)) : undefined;
  if (profDir && file && !c.profile) c.profile = { file: join(profDir, file), ...topSelfTime(join(profDir, file), 15, ROOT) };
}
