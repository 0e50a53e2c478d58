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
// and a steady live writer (1,000 lines/s) into the warden pod: warden's average CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { rng } from '../gen-logs.js';
import { createPod, podUnavailable, type PodCgroup, type PodStats } from './cgroup.js';
import { fluentBitConfig, fluentdConfig, onPath, startCountingSink, stopProc, type CountingSink } from './others.js';
import { childPids, cpuSeconds, treeCpuSeconds } from './proc.js';
import { Scope, type Row } from './row.js';
import { containerId, linkContainers, makeLine, newContainerFile, type DockerTree } from './tree.js';
import { freePort, GOVERNOR_OFF, metricSum, ROOT, sleep, spawnWarden, waitFor, waitReady, type WardenRun } from './warden.js';

const MiB = 1048576;

export type PodKind = 'seed' | 'warden' | 'ceiling' | 'fluent-bit' | 'governor-off';
export const POD_KINDS: PodKind[] = ['seed', 'warden', 'ceiling', 'fluent-bit', 'governor-off'];

export const POD_LABELS: Record<PodKind, string> = {
  seed: 'seed: fluentd alone, in_tail (json) → out_forward (acks, file buffer)',
  warden: 'warden (shipped config and defaults) + fluentd child (shipped fluent.conf)',
  ceiling: 'ceiling: fluentd alone (shipped fluent.conf), fed by warden outside the budget',
  'fluent-bit': 'Fluent Bit alone, tail → forward (acks)',
  'governor-off': 'ceiling: warden pod with the governor off (large budgets, cpu_action none)',
};

export interface PodPrograms {
  fluentd: string | null;
  fluentBit: string | null;
  /** LD_PRELOAD for fluentd (jemalloc), where set. */
  fluentdPreload?: string;
}

/** fluentd and Fluent Bit from $FLUENTD / $FLUENT_BIT, else PATH. */
export function podPrograms(): PodPrograms {
  return {
    fluentd: process.env.FLUENTD || onPath('fluentd'),
    fluentBit: process.env.FLUENT_BIT || onPath('fluent-bit'),
    fluentdPreload: process.env.FLUENTD_LD_PRELOAD || undefined,
  };
}

export interface PodResult {
  kind: PodKind;
  /** From the last poll that saw nothing delivered to the one that saw every line. */
  seconds: number;
  /** From the first spawn of the row to the last line delivered. */
  wallSeconds: number;
  delivered: number;
  expected: number;
  stats: PodStats;
  /** The highest working set seen while polling (usage less inactive file cache), bytes. */
  peakWorkingSet: number | null;
  cgroup: 'v1' | 'v2';
  /** CPU-s per million lines over `seconds`; null where the row has no such process. */
  wardenCpuPerM: number | null;
  fluentdCpuPerM: number | null;
  /** The warden process, for profiles. */
  wardenPid: number | null;
}

export interface PodEnv {
  scope: Scope;
  dir: string;
  tree: DockerTree;
  /** The /var/log/containers glob of the tree. */
  containersGlob: string;
  receiver: CountingSink;
  programs: PodPrograms;
  timeoutMs: number;
  /** Quick (smoke test): warden's child is `warden sink --count-only`, which is then the receiver. */
  sinkChild: boolean;
  nodeFlags?: string[];
}

// ---- configurations ------------------------------------------------------------------------

/**
 * deploy/docker/fluent.conf with its example output replaced by out_forward (acks) to the
 * receiver, its in_forward on `inPort` and its file buffer under `dir`. Everything else as shipped.
 */
export function shippedFluentConf(dir: string, inPort: number, receiverPort: number): string {
  const text = readFileSync(join(ROOT, 'deploy/docker/fluent.conf'), 'utf8');
  const out = text
    .replace(/^(\s*port) 24224$/m, `$1 ${inPort}`)
    .replace(/^(\s*path) \/var\/lib\/warden\/fluentd-buffer$/m, `$1 ${join(dir, 'fluentd-buffer')}`)
    .replace(/^(\s*)@type (?:stdout|null)$/m, `$1@type forward\n$1require_ack_response true\n$1<server>\n$1  host 127.0.0.1\n$1  port ${receiverPort}\n$1</server>`);
  for (const must of [`port ${inPort}`, join(dir, 'fluentd-buffer'), `port ${receiverPort}`]) {
    if (!out.includes(must)) throw new Error(`deploy/docker/fluent.conf: could not adapt it for the bench (no ${must} after rewriting)`);
  }
  const conf = join(dir, 'fluent.conf');
  writeFileSync(conf, out);
  return conf;
}

/**
 * deploy/docker/warden.yaml with its paths under the tree's root, its ports on loopback and
 * `read_from: head` (the backlog is the workload); the child command is the shipped one with
 * `fluentd` and the fluent.conf path replaced. Budgets as shipped: derived from the cgroup.
 */
export function shippedWardenConfig(root: string, dir: string, health: number, childPort: number, child: string[]): Record<string, unknown> {
  const c = parse(readFileSync(join(ROOT, 'deploy/docker/warden.yaml'), 'utf8')) as Record<string, any>;
  const under = (p: string) => join(root, p);
  c.node_name = 'bench';
  c.state_dir = join(dir, 'state');
  c.log = { level: 'warn' };
  c.health = { ...c.health, listen: `127.0.0.1:${health}` };
  c.inputs = (c.inputs as Array<{ paths: string[] }>).map((i) => ({ ...i, paths: i.paths.map(under) }));
  c.tail = { ...c.tail, read_from: 'head', roots: (c.tail.roots as string[]).map(under) };
  c.forward = { ...c.forward, to: `tcp://127.0.0.1:${childPort}` };
  c.child = { ...c.child, command: child, check_command: undefined };
  if (c.child.check_command === undefined) delete c.child.check_command;
  return c;
}

/** The shipped child command (`fluentd --no-supervisor -c …`) with this fluentd and conf. */
function shippedFluentdCommand(fluentd: string, conf: string): string[] {
  const c = parse(readFileSync(join(ROOT, 'deploy/docker/warden.yaml'), 'utf8')) as { child: { command: string[] } };
  return c.child.command.map((a) => (a === 'fluentd' ? fluentd : a === '/etc/fluent/fluent.conf' ? conf : a));
}


// ---- one row ---------------------------------------------------------------------------------

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

function fluentdEnv(programs: PodPrograms): Record<string, string> {
  return programs.fluentdPreload ? { LD_PRELOAD: programs.fluentdPreload } : {};
}

/** Why `kind` cannot run with these programs, or null. */
export function podSkip(kind: PodKind, env: Pick<PodEnv, 'programs' | 'sinkChild'>): string | null {
  const unavailable = podUnavailable();
  if (unavailable) return unavailable;
  if (env.sinkChild) return kind === 'warden' ? null : 'quick run: only the warden pod, with a sink child';
  if (kind === 'fluent-bit') return env.programs.fluentBit ? null : 'fluent-bit not on PATH (nor $FLUENT_BIT)';
  return env.programs.fluentd ? null : 'fluentd not on PATH (nor $FLUENTD)';
}

interface Started {
  /** Delivered records so far. */
  delivered(): Promise<number>;
  /** Error text when something the row needs has exited. */
  failed(): string | null;
  cpu(): { warden: number | null; fluentd: number | null };
  wardenPid: number | null;
}

async function startRow(kind: PodKind, env: PodEnv, pod: PodCgroup, dir: string): Promise<Started> {
  const { scope, tree, receiver, programs } = env;
  const base = receiver.records();
  const fromReceiver = async () => (await receiver.refresh()) - base;

  if (kind === 'seed' || kind === 'fluent-bit') {
    const fb = kind === 'fluent-bit';
    const program = fb ? programs.fluentBit! : programs.fluentd!;
    const args = fb ? ['-c', fluentBitConfig(dir, env.containersGlob, receiver.port)] : ['-c', fluentdConfig(dir, env.containersGlob, receiver.port, join(dir, 'buffer'))];
    const [file, ...rest] = pod.enterCommand([program, ...args]);
    const proc = spawn(file!, rest, { cwd: dir, env: { ...process.env, ...(fb ? {} : fluentdEnv(programs)) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    scope.defer(() => stopProc(proc));
    return {
      delivered: fromReceiver,
      failed: () => (alive(proc) ? null : `${kind} exited (${proc.exitCode ?? proc.signalCode}): ${err.slice(-400)}`),
      cpu: () => ({ warden: null, fluentd: treeCpuSeconds(proc.pid!) }),
      wardenPid: null,
    };
  }

  const health = await freePort();
  const childPort = await freePort();
  let child: string[];
  if (env.sinkChild) child = ['warden', 'sink', '--listen', `tcp://127.0.0.1:${childPort}`, '--count-only'];
  else {
    child = shippedFluentdCommand(programs.fluentd!, shippedFluentConf(dir, childPort, receiver.port));
    if (programs.fluentdPreload) child = ['env', `LD_PRELOAD=${programs.fluentdPreload}`, ...child];
  }
  const ceiling = kind === 'ceiling';
  // The ceiling's fluentd enters the pod through the wrapper; its warden stays outside.
  if (ceiling) child = pod.enterCommand(child);
  const config = shippedWardenConfig(tree.root, dir, health, childPort, child);
  if (ceiling || kind === 'governor-off') config.budgets = GOVERNOR_OFF;
  const w: WardenRun = spawnWarden(dir, config, health, kind === 'warden' ? env.nodeFlags : [], ceiling ? undefined : pod.enterCommand);
  scope.defer(() => w.stop());
  const fluentdCpu = () => childPids(w.pid).reduce((a, p) => a + treeCpuSeconds(p), 0);
  return {
    delivered: env.sinkChild
      ? async () => {
          try {
            return metricSum(await w.metrics(), 'warden_forward_records_acked_total');
          } catch {
            return 0; // health endpoint not up yet
          }
        }
      : fromReceiver,
    failed: () => (alive(w.proc) ? null : `warden exited: ${w.output().slice(-600)}`),
    cpu: () => ({ warden: cpuSeconds(w.pid), fluentd: env.sinkChild ? null : fluentdCpu() }),
    wardenPid: w.pid,
  };
}

/**
 * A pod's own scope: what the row started is stopped, and its cgroup removed, when the row ends
 * (before the next row starts), or with the section when that ends first.
 */
async function inPod<T>(env: PodEnv, name: string, fn: (env: PodEnv, pod: PodCgroup, dir: string) => Promise<T>): Promise<T> {
  const scope = new Scope();
  env.scope.defer(() => scope.close());
  try {
    const dir = join(env.dir, name);
    mkdirSync(dir, { recursive: true });
    const pod = createPod(`warden-bench-${process.pid}-${name}`);
    scope.defer(() => pod.remove());
    return await fn({ ...env, scope }, pod, dir);
  } finally {
    await scope.close();
  }
}

/** Runs one pod row to the end: every line delivered, or the time bound (then delivered < expected). */
export function runPod(kind: PodKind, env: PodEnv): Promise<PodResult> {
  return inPod(env, kind, (env, pod, dir) => measurePod(kind, env, pod, dir));
}

async function measurePod(kind: PodKind, env: PodEnv, pod: PodCgroup, dir: string): Promise<PodResult> {
  const spawnedAt = performance.now();
  const row = await startRow(kind, env, pod, dir);
  const expected = env.tree.lines;
  let startAt = spawnedAt;
  let startCpu = row.cpu();
  let delivered = 0;
  let peakWorkingSet: number | null = null;
  const deadline = spawnedAt + env.timeoutMs;
  for (;;) {
    const ws = pod.workingSet();
    if (ws !== null && (peakWorkingSet === null || ws > peakWorkingSet)) peakWorkingSet = ws;
    const failed = row.failed();
    if (failed) throw new Error(failed);
    const at = performance.now();
    const cpu = row.cpu();
    delivered = await row.delivered();
    if (delivered === 0) {
      startAt = at;
      startCpu = cpu;
    }
    if (delivered >= expected || performance.now() > deadline) break;
    await sleep(150);
  }
  const end = performance.now();
  const cpu = row.cpu();
  const perM = (a: number | null, b: number | null) => (a === null || b === null ? null : (a - b) / (Math.min(delivered, expected) / 1e6));
  return {
    kind,
    seconds: (end - startAt) / 1000,
    wallSeconds: (end - spawnedAt) / 1000,
    delivered,
    expected,
    stats: pod.stats(),
    peakWorkingSet,
    cgroup: pod.version,
    wardenCpuPerM: perM(cpu.warden, startCpu.warden),
    fluentdCpuPerM: perM(cpu.fluentd, startCpu.fluentd),
    wardenPid: row.wardenPid,
  };
}

// ---- a steady live writer -------------------------------------------------------------------

export interface SteadyResult {
  rate: number;
  seconds: number;
  /** warden's average CPU over the window, millicores. */
  wardenMillicores: number;
  fluentdMillicores: number | null;
  delivered: number;
  written: number;
}

/** The warden pod (shipped defaults) tailing `files` live files that get `rate` lines/s for `seconds`. */
export function steadyPod(env: PodEnv, opts: { rate: number; seconds: number; files: number }): Promise<SteadyResult> {
  return inPod(env, 'steady', (env, pod, dir) => measureSteady(env, pod, dir, opts));
}

async function measureSteady(env: PodEnv, pod: PodCgroup, dir: string, opts: { rate: number; seconds: number; files: number }): Promise<SteadyResult> {
  const root = join(dir, 'logs');
  const r = rng(7);
  const files: string[] = [];
  for (let i = 0; i < opts.files; i++) files.push(newContainerFile(root, containerId(r)));
  const fds = files.map((f) => openSync(f, 'a'));
  env.scope.defer(() => fds.forEach((fd) => closeSync(fd)));
  const tree: DockerTree = { root, files, lines: Number.MAX_SAFE_INTEGER, bytes: 0 };
  linkContainers(tree);
  const row = await startRow('warden', { ...env, tree, containersGlob: '' }, pod, dir);
  // Ready once one line per file came through: reading, child and receiver all up.
  fds.forEach((fd, i) => writeSync(fd, makeLine(r, `pre${i}`, 0, BigInt(Date.now()) * 1_000_000n)));
  await waitFor(
    'the warden pod delivering',
    async () => {
      const failed = row.failed();
      if (failed) throw new Error(failed);
      return (await row.delivered()) >= opts.files;
    },
    120_000,
    200,
  );
  const before = await row.delivered();
  const cpu0 = row.cpu();
  const t0 = performance.now();
  let written = 0;
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= opts.seconds) break;
    const due = Math.floor(elapsed * opts.rate) - written;
    if (due > 0) {
      const ns = BigInt(Date.now()) * 1_000_000n;
      const per: string[][] = fds.map(() => []);
      for (let i = 0; i < due; i++) per[(written + i) % fds.length]!.push(makeLine(r, 'steady', written + i, ns));
      per.forEach((lines, i) => lines.length && writeSync(fds[i]!, lines.join('')));
      written += due;
    }
    await sleep(20);
  }
  const cpu1 = row.cpu();
  const window = (performance.now() - t0) / 1000;
  const milli = (a: number | null, b: number | null) => (a === null || b === null ? null : ((a - b) / window) * 1000);
  let delivered = 0;
  await waitFor('the steady lines delivered', async () => (delivered = (await row.delivered()) - before) >= written, 60_000, 200).catch(() => undefined);
  return { rate: opts.rate, seconds: window, wardenMillicores: milli(cpu1.warden, cpu0.warden)!, fluentdMillicores: milli(cpu1.fluentd, cpu0.fluentd), delivered, written };
}

// ---- the section ----------------------------------------------------------------------------

export interface PodSectionOptions {
  scope: Scope;
  dir: string;
  tree: DockerTree;
  quick: boolean;
  judge: (ok: boolean) => boolean | null;
  steady: { rate: number; seconds: number; files: number };
  timeoutMs: number;
  nodeFlags?: string[];
  log: (line: string) => void;
  /** Called with the warden pod's pid once that row ran (for its profile). */
  onWardenPid?: (pid: number) => void;
}

function podNote(r: PodResult): string {
  const s = r.stats;
  const parts = [
    `wall ${r.wallSeconds.toFixed(1)} s (${r.seconds.toFixed(1)} s from the first line delivered)`,
    `peak ${s.peakBytes === null ? '—' : (s.peakBytes / MiB).toFixed(0)} MiB (working set ${r.peakWorkingSet === null ? '—' : (r.peakWorkingSet / MiB).toFixed(0)})`,
    `OOM kills ${s.oomKills ?? '—'}`,
    `throttled periods ${s.throttledPeriods ?? '—'}`,
    r.wardenCpuPerM === null ? null : `warden ${r.wardenCpuPerM.toFixed(2)} CPU-s/M`,
    r.fluentdCpuPerM === null ? null : `${r.kind === 'fluent-bit' ? 'Fluent Bit' : 'fluentd'} ${r.fluentdCpuPerM.toFixed(2)} CPU-s/M`,
    `delivered ${r.delivered.toLocaleString('en-US')}/${r.expected.toLocaleString('en-US')}`,
  ];
  return parts.filter(Boolean).join(' · ');
}

/** Every pod row and the targets, as table rows; a row that cannot run is a skip, not a failure. */
export async function podSection(o: PodSectionOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const programs = podPrograms();
  const sinkChild = o.quick;
  const receiver = await startCountingSink(o.scope);
  const containersGlob = linkContainers(o.tree);
  const env: PodEnv = { scope: o.scope, dir: o.dir, tree: o.tree, containersGlob, receiver, programs, timeoutMs: o.timeoutMs, sinkChild, nodeFlags: o.nodeFlags };
  const results = new Map<PodKind, PodResult>();
  for (const kind of POD_KINDS) {
    const skip = podSkip(kind, env);
    if (skip) {
      rows.push({ section: 'pod', metric: POD_LABELS[kind], value: null, unit: 'lines/s', note: `skipped: ${skip}` });
      continue;
    }
    const label = kind === 'warden' && sinkChild ? 'warden (shipped config and defaults) + `warden sink` child (quick run)' : POD_LABELS[kind];
    o.log(`pod ${kind}: ${label}`);
    try {
      const r = await runPod(kind, env);
      results.set(kind, r);
      if (kind === 'warden' && r.wardenPid) o.onWardenPid?.(r.wardenPid);
      rows.push({ section: 'pod', metric: label, value: Math.min(r.delivered, r.expected) / r.seconds, unit: 'lines/s', note: podNote(r) });
    } catch (err) {
      rows.push({ section: 'pod', metric: label, value: null, unit: 'lines/s', note: `failed: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 300)}` });
    }
  }

  const w = results.get('warden');
  const rate = (r: PodResult | undefined) => (r ? Math.min(r.delivered, r.expected) / r.seconds : null);
  const ratio = (of: PodKind) => {
    const a = rate(w);
    const b = rate(results.get(of));
    return a === null || b === null ? null : a / b;
  };
  const missing = (why: string) => (w ? why : 'the warden pod did not run');
  const vsCeiling = ratio('ceiling');
  const vsSeed = ratio('seed');
  const peak = w?.stats.peakBytes == null ? null : w.stats.peakBytes / MiB;
  rows.push(
    { section: 'pod', metric: 'warden pod / ceiling', value: vsCeiling, unit: '×', target: '≥ 0.9', met: vsCeiling === null ? null : o.judge(vsCeiling >= 0.9), note: vsCeiling === null ? missing('the ceiling row did not run') : undefined },
    { section: 'pod', metric: 'warden pod / seed', value: vsSeed, unit: '×', target: '≥ 3', met: vsSeed === null ? null : o.judge(vsSeed >= 3), note: vsSeed === null ? missing('the seed row did not run') : undefined },
    { section: 'pod', metric: 'warden pod peak cgroup memory', value: peak, unit: 'MiB', target: '≤ 150', met: peak === null ? null : o.judge(peak <= 150), note: w ? `of the 200Mi (cgroup ${w.cgroup} ${w.cgroup === 'v1' ? 'memory.max_usage_in_bytes' : 'memory.peak'}, page cache included; working set at most ${w.peakWorkingSet === null ? '—' : (w.peakWorkingSet / MiB).toFixed(0)} MiB)` : missing('') },
    { section: 'pod', metric: 'warden pod OOM kills', value: w?.stats.oomKills ?? null, unit: '', target: '0', met: w?.stats.oomKills == null ? null : o.judge(w.stats.oomKills === 0), note: w ? undefined : missing('') },
    { section: 'pod', metric: 'warden pod delivered / expected', value: w ? w.delivered / w.expected : null, unit: '×', target: '1', met: w ? o.judge(w.delivered >= w.expected) : null, note: w ? `${w.delivered.toLocaleString('en-US')} of ${w.expected.toLocaleString('en-US')} lines` : missing('') },
    { section: 'pod', metric: 'warden CPU per million lines in the pod', value: w?.wardenCpuPerM ?? null, unit: 'CPU-s', target: '≤ 2', met: w?.wardenCpuPerM == null ? null : o.judge(w.wardenCpuPerM <= 2), note: w ? 'utime+stime of warden alone, at the pod\'s rate' : missing('') },
  );

  const steadySkip = podSkip('warden', env);
  const steadyMetric = `warden CPU, steady ${o.steady.rate.toLocaleString('en-US')} lines/s for ${o.steady.seconds} s`;
  if (steadySkip) rows.push({ section: 'pod', metric: steadyMetric, value: null, unit: 'millicores', target: '≤ 15', note: `skipped: ${steadySkip}` });
  else {
    o.log(`pod steady: ${o.steady.rate} lines/s for ${o.steady.seconds} s into the warden pod`);
    try {
      const s = await steadyPod(env, o.steady);
      const fluentd = s.fluentdMillicores === null ? '' : `; fluentd ${s.fluentdMillicores.toFixed(0)}m`;
      rows.push({ section: 'pod', metric: steadyMetric, value: s.wardenMillicores, unit: 'millicores', target: '≤ 15', met: o.judge(s.wardenMillicores <= 15), note: `average over ${s.seconds.toFixed(0)} s${fluentd}; delivered ${s.delivered}/${s.written}` });
    } catch (err) {
      rows.push({ section: 'pod', metric: steadyMetric, value: null, unit: 'millicores', target: '≤ 15', note: `failed: ${(err as Error).message.replace(/\s+/g, ' ').slice(0, 300)}` });
    }
  }
  return rows;
}
