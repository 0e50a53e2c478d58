// The pod section: the deployment users run, each pod in its own cgroup with the seed DaemonSet's
// limits (200m CPU, 200Mi), on the same node tree (Docker json-file logs behind
// /var/log/containers symlinks), every pod shipping into the same acking Forward receiver on
// loopback outside the pods. Rows:
//   seed        fluentd alone: in_tail (json) → out_forward (acks, file buffer), its own supervisor
//   warden      warden with its shipped config and defaults (budgets derived from the cgroup) and
//               a fluentd child running the shipped fluent.conf with its output pointed at the receiver
//   ceiling     fluentd alone in the budget, the same fluent.conf, fed by warden from outside it
//   fluent-bit  Fluent Bit alone: tail → forward (acks)
//   governor off (ceiling)  the warden pod with large explicit budgets and cpu_action none
// then the warden pod's targets and what it did with its budget (from its own log, kept as
// <dir>/warden/warden.log), and a steady live writer (1,000 lines/s) into the warden pod: warden's
// average CPU after a warm-up at the same rate. With a baseline checkout the section is instead the before/after comparison.
import { startCountingSink } from './others.js';
import { compareRows } from './pod/compare.js';
import { budgetRows, podNote, podRate, targetRows } from './pod/rows.js';
import { runPod, type PodResult } from './pod/run.js';
import { podPrograms, podSkip, POD_KINDS, POD_LABELS, type PodEnv, type PodKind } from './pod/setup.js';
import { steadyPod, type SteadyOptions } from './pod/steady.js';
import type { Row, Scope } from './row.js';
import { linkContainers, type DockerTree } from './tree.js';
import type { Checkout } from './warden.js';

export { POD_KINDS, POD_LABELS, podPrograms, podSkip, type PodEnv, type PodKind } from './pod/setup.js';
export { runPod, type PodResult } from './pod/run.js';
export { shippedFluentConf, shippedWardenConfig } from './pod/config.js';
export { steadyPod, type SteadyOptions, type SteadyResult } from './pod/steady.js';

export interface PodSectionOptions {
  scope: Scope;
  dir: string;
  tree: DockerTree;
  quick: boolean;
  judge: (ok: boolean) => boolean | null;
  steady: SteadyOptions;
  timeoutMs: number;
  nodeFlags?: string[];
  log: (line: string) => void;
  /** Called with the warden pod's pid once that row ran (for its profile). */
  onWardenPid?: (pid: number) => void;
  /** Before/after: a baseline checkout's warden pod against this one's, alternately, `rounds` rounds each. */
  baseline?: { checkout: Checkout; rounds: number };
}

const failedNote = (err: unknown) => `failed: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 300)}`;

/** Every pod row and the targets, as table rows; a row that cannot run is a skip, not a failure. */
export async function podSection(o: PodSectionOptions): Promise<Row[]> {
  const receiver = await startCountingSink(o.scope);
  const containersGlob = linkContainers(o.tree);
  const env: PodEnv = { scope: o.scope, dir: o.dir, tree: o.tree, containersGlob, receiver, programs: podPrograms(), timeoutMs: o.timeoutMs, sinkChild: o.quick, nodeFlags: o.nodeFlags };
  if (o.baseline) {
    const skip = podSkip('warden', env);
    if (skip) return [{ section: 'pod', metric: 'before / after', value: null, unit: 'lines/s', note: `skipped: ${skip}` }];
    return compareRows(env, o.baseline.checkout, o.baseline.rounds, o.log);
  }
  const { rows, results } = await kindRows(env, o);
  const w = results.get('warden');
  rows.push(...targetRows(w, results.get('ceiling'), results.get('seed'), o.judge), ...budgetRows(w, o.judge));
  if (w) o.log(`pod warden: budget transitions ${w.transitions.length ? '' : 'none'}${w.transitions.map((t) => `\n  ${t.machine}: ${t.from} → ${t.to} (${t.count})`).join('')}\n  warden's log: ${w.wardenLog}`);
  rows.push(await steadyRow(env, o));
  return rows;
}

/** One row per pod kind, in POD_KINDS order. */
async function kindRows(env: PodEnv, o: PodSectionOptions): Promise<{ rows: Row[]; results: Map<PodKind, PodResult> }> {
  const rows: Row[] = [];
  const results = new Map<PodKind, PodResult>();
  for (const kind of POD_KINDS) {
    const skip = podSkip(kind, env);
    if (skip) {
      rows.push({ section: 'pod', metric: POD_LABELS[kind], value: null, unit: 'lines/s', note: `skipped: ${skip}` });
      continue;
    }
    const label = kind === 'warden' && env.sinkChild ? 'warden (shipped config and defaults) + `warden sink` child (quick run)' : POD_LABELS[kind];
    o.log(`pod ${kind}: ${label}`);
    try {
      const r = await runPod(kind, env);
      results.set(kind, r);
      if (kind === 'warden' && r.wardenPid) o.onWardenPid?.(r.wardenPid);
      rows.push({ section: 'pod', metric: label, value: podRate(r), unit: 'lines/s', note: podNote(r) });
    } catch (err) {
      rows.push({ section: 'pod', metric: label, value: null, unit: 'lines/s', note: failedNote(err) });
    }
  }
  return { rows, results };
}

async function steadyRow(env: PodEnv, o: PodSectionOptions): Promise<Row> {
  const metric = `warden CPU, steady ${o.steady.rate.toLocaleString('en-US')} lines/s for ${o.steady.seconds} s`;
  const skip = podSkip('warden', env);
  if (skip) return { section: 'pod', metric, value: null, unit: 'millicores', target: '≤ 15', note: `skipped: ${skip}` };
  o.log(`pod steady: ${o.steady.rate} lines/s for ${o.steady.warmupS} s of warm-up and ${o.steady.seconds} s measured into the warden pod`);
  try {
    const s = await steadyPod(env, o.steady);
    const fluentd = s.fluentdMillicores === null ? '' : `; fluentd ${s.fluentdMillicores.toFixed(0)}m`;
    const m = (v: number | null) => (v === null ? '?' : `${v.toFixed(1)}m`);
    const warmup = s.warmupMillicores === null ? '' : ` after ${o.steady.warmupS} s at the same rate (warm-up: ${m(s.warmupMillicores)})`;
    const note = `average over ${s.seconds.toFixed(0)} s${warmup}; by quarter ${s.quarters.map(m).join(', ')}${fluentd}; delivered ${s.delivered}/${s.written}`;
    return { section: 'pod', metric, value: s.wardenMillicores, unit: 'millicores', target: '≤ 15', met: o.judge(s.wardenMillicores <= 15), note };
  } catch (err) {
    return { section: 'pod', metric, value: null, unit: 'millicores', target: '≤ 15', note: failedNote(err) };
  }
}
