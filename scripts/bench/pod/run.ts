// One pod row: started in its own cgroup and scope, polled until every line of the tree is
// delivered (or the row's time bound), measured over the drain: from the moment the pod is ready
// to take lines (its boot done) to the poll that saw every line delivered. Boot is in the wall time.
// Ready: for fluentd alone, in_tail following the files (its pos_file written); for warden, its child ready (warden reads nothing
// before); Fluent Bit starts in milliseconds and is ready when spawned.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { coldPageCache, createPod, type PodCgroup, type PodStats } from '../cgroup.js';
import { fluentBitConfig, fluentdConfig, stopProc } from '../others.js';
import { childPids, cpuSeconds, treeCpuSeconds } from '../proc.js';
import { Scope } from '../row.js';
import { freePort, GOVERNOR_OFF, metricSum, sleep, spawnWarden, THIS_CHECKOUT } from '../warden.js';
import { budgetTransitions, type TransitionCount } from './budget-log.js';
import { shippedFluentConf, shippedFluentdCommand, shippedWardenConfig } from './config.js';
import { fluentdEnv, type PodEnv, type PodKind } from './setup.js';

export interface PodResult {
  kind: PodKind;
  /** From the pod ready to the poll that saw every line delivered. */
  seconds: number;
  /** From the first spawn of the row to the pod ready (its boot). */
  bootSeconds: number;
  /**
   * From the pod ready to the last ack that made warden's checkpoint cover every byte of the tree
   * (every line in fluentd's buffer: the files no longer hold a backlog; the newest `updated` of its
   * entries), and the CPU time over it of the pod, of warden and of fluentd (each interpolated
   * between polls): what the pod spent while it was bound by its quota; null for rows without
   * warden in the pod or when the checkpoint never covered it all.
   */
  backlog: { seconds: number; podCpuSeconds: number | null; wardenCpuSeconds: number | null; fluentdCpuSeconds: number | null } | null;
  /** From the pod ready to the poll that saw half the lines delivered; null when it never did. */
  halfSeconds: number | null;
  /** From the first spawn of the row to the last line delivered. */
  wallSeconds: number;
  delivered: number;
  /**
   * Records that reached the receiver after the row had ended, once its programs were stopped (a
   * chunk resent as they stopped): counted to this row, not the next; null with a sink child.
   */
  late: number | null;
  expected: number;
  stats: PodStats;
  /** The highest working set seen while polling (usage less inactive file cache), bytes. */
  peakWorkingSet: number | null;
  /** The highest usage less clean file cache seen (what an OOM kill would count). */
  peakUnreclaimable: number | null;
  cgroup: 'v1' | 'v2';
  /** The pod's CPU limit, millicores. */
  quotaMillicores: number;
  /** The pod's memory limit, bytes. */
  limitBytes: number;
  /** CPU time of the whole pod (its cgroup's usage) over `seconds`; null where unreadable. */
  podCpuSeconds: number | null;
  /** CPU-s per million lines over `seconds`; null where the row has no such process. */
  wardenCpuPerM: number | null;
  fluentdCpuPerM: number | null;
  /** The warden process, for profiles. */
  wardenPid: number | null;
  /** warden's own log (stdout and stderr) of this row; null where the row has no warden. */
  wardenLog: string | null;
  /** Records per Forward chunk warden wrote to its child (resends included); null for rows without warden. */
  recordsPerChunk: number | null;
  /** The governor's transitions in that log up to the end of the drain. */
  transitions: TransitionCount[];
}

export interface Started {
  /** Delivered records so far. */
  delivered(): Promise<number>;
  /** The pod has booted and takes lines. */
  ready(): Promise<boolean>;
  /** What warden's checkpoint says was acked, and when it last moved (wall ms); null for rows without warden. */
  committed(): { bytes: number; lastMovedMs: number } | null;
  /** Error text when something the row needs has exited. */
  failed(): string | null;
  cpu(): { warden: number | null; fluentd: number | null };
  /** Records per chunk warden has written so far (its metrics); null for rows without warden. */
  recordsPerChunk(): Promise<number | null>;
  wardenPid: number | null;
  wardenLog: string | null;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The sum of the offsets in a checkpoint file and its newest `updated` (nothing before the first is written). */
function checkpointed(path: string): { bytes: number; lastMovedMs: number } {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as { files?: Array<{ offset?: number; updated?: string }> };
    const files = c.files ?? [];
    return { bytes: files.reduce((a, e) => a + (e.offset ?? 0), 0), lastMovedMs: Math.max(0, ...files.map((e) => Date.parse(e.updated ?? '') || 0)) };
  } catch {
    return { bytes: 0, lastMovedMs: 0 };
  }
}

/** CPU seconds (the pod's, warden's or fluentd's) at wall time `at`, interpolated between the polls around it. */
function cpuAt(polls: Poll[], at: number, who: keyof Omit<Poll, 'wall'>): number | null {
  for (let i = 1; i < polls.length; i++) {
    const a = polls[i - 1]!;
    const b = polls[i]!;
    if (b.wall < at) continue;
    const x = a[who];
    const y = b[who];
    if (x === null || y === null) return null;
    const f = b.wall === a.wall ? 1 : Math.min(1, Math.max(0, (at - a.wall) / (b.wall - a.wall)));
    return x + (y - x) * f;
  }
  return null;
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

/** fluentd (the seed) or Fluent Bit alone in the pod, tailing the tree into the receiver. */
function startAlone(kind: 'seed' | 'fluent-bit', env: PodEnv, pod: PodCgroup, dir: string): Started {
  const { receiver, programs } = env;
  const base = receiver.records();
  const fb = kind === 'fluent-bit';
  const program = fb ? programs.fluentBit! : programs.fluentd!;
  const args = fb ? ['-c', fluentBitConfig(dir, env.containersGlob, receiver.port)] : ['-c', fluentdConfig(dir, env.containersGlob, receiver.port, join(dir, 'buffer'))];
  const [file, ...rest] = pod.enterCommand([program, ...args]);
  const proc = spawn(file!, rest, { cwd: dir, env: { ...process.env, ...(fb ? {} : fluentdEnv(programs)) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  env.scope.defer(() => stopProc(proc));
  return {
    delivered: async () => (await receiver.refresh()) - base,
    // in_tail writes its pos_file as it starts following the files (fluentd's stdout is block-buffered in a pipe).
    ready: async () => fb || fileSize(join(dir, 'tail.pos')) > 0,
    committed: () => null,
    failed: () => (alive(proc) ? null : `${kind} exited (${proc.exitCode ?? proc.signalCode}): ${err.slice(-400)}`),
    cpu: () => ({ warden: null, fluentd: treeCpuSeconds(proc.pid!) }),
    recordsPerChunk: async () => null,
    wardenPid: null,
    wardenLog: null,
  };
}

/** The child command of a warden row: the shipped fluentd (shipped fluent.conf), or in quick runs a counting sink. */
function childCommand(env: PodEnv, dir: string, childPort: number): string[] {
  if (env.sinkChild) return ['warden', 'sink', '--listen', `tcp://127.0.0.1:${childPort}`, '--count-only'];
  const root = (env.checkout ?? THIS_CHECKOUT).root;
  const child = shippedFluentdCommand(env.programs.fluentd!, shippedFluentConf(dir, childPort, env.receiver.port, root), root);
  return env.programs.fluentdPreload ? ['env', `LD_PRELOAD=${env.programs.fluentdPreload}`, ...child] : child;
}

/** warden and its child: both in the pod, or (ceiling) only the child in it, warden outside. */
async function startWardenRow(kind: 'warden' | 'ceiling' | 'governor-off', env: PodEnv, pod: PodCgroup, dir: string): Promise<Started> {
  const checkout = env.checkout ?? THIS_CHECKOUT;
  const base = env.receiver.records();
  const health = await freePort();
  const childPort = await freePort();
  const ceiling = kind === 'ceiling';
  // The ceiling's fluentd enters the pod through the wrapper; its warden stays outside.
  const child = ceiling ? pod.enterCommand(childCommand(env, dir, childPort)) : childCommand(env, dir, childPort);
  const config = shippedWardenConfig(env.tree.root, dir, health, childPort, child, checkout.root);
  if (kind !== 'warden') config.budgets = GOVERNOR_OFF;
  const wardenLog = join(dir, 'warden.log');
  const w = spawnWarden(dir, config, health, kind === 'warden' ? env.nodeFlags : [], { wrap: ceiling ? undefined : pod.enterCommand, checkout, logFile: wardenLog });
  env.scope.defer(() => w.stop());
  const fluentdCpu = () => childPids(w.pid).reduce((a, p) => a + treeCpuSeconds(p), 0);
  const acked = async () => {
    try {
      return metricSum(await w.metrics(), 'warden_forward_records_acked_total');
    } catch {
      return 0; // health endpoint not up yet
    }
  };
  const recordsPerChunk = async () => {
    try {
      const m = await w.metrics();
      const writes = metricSum(m, 'warden_forward_chunks_sent_total') + metricSum(m, 'warden_forward_chunks_resent_total');
      return writes > 0 ? metricSum(m, 'warden_forward_records_sent_total') / writes : null;
    } catch {
      return null;
    }
  };
  const childReady = async () => {
    try {
      return metricSum(await w.metrics(), 'warden_child_ready') > 0;
    } catch {
      return false;
    }
  };
  return {
    delivered: env.sinkChild ? acked : async () => (await env.receiver.refresh()) - base,
    ready: childReady,
    committed: () => checkpointed(join(dir, 'state', 'checkpoints.json')),
    failed: () => (alive(w.proc) ? null : `warden exited: ${w.output().slice(-600)}`),
    cpu: () => ({ warden: cpuSeconds(w.pid), fluentd: env.sinkChild ? null : fluentdCpu() }),
    recordsPerChunk,
    wardenPid: w.pid,
    wardenLog,
  };
}

export function startRow(kind: PodKind, env: PodEnv, pod: PodCgroup, dir: string): Promise<Started> {
  return kind === 'seed' || kind === 'fluent-bit' ? Promise.resolve(startAlone(kind, env, pod, dir)) : startWardenRow(kind, env, pod, dir);
}

/**
 * A pod's own scope, started on a cold page cache (coldPageCache) unless the run is quick: what the row started is
 * stopped, and its cgroup removed, when the row ends (before the next row starts), or with the
 * section when that ends first.
 */
export async function inPod<T>(env: PodEnv, name: string, fn: (env: PodEnv, pod: PodCgroup, dir: string) => Promise<T>): Promise<T> {
  const scope = new Scope();
  env.scope.defer(() => scope.close());
  try {
    const dir = join(env.dir, name);
    mkdirSync(dir, { recursive: true });
    const pod = createPod(`warden-bench-${process.pid}-${name}`);
    scope.defer(() => pod.remove());
    // A quick run (a sink child, as in CI's smoke test) leaves the machine's page cache alone.
    if (!env.sinkChild) coldPageCache();
    return await fn({ ...env, scope }, pod, dir);
  } finally {
    await scope.close();
  }
}

/** Runs one pod row to the end: every line delivered, or the time bound (then delivered < expected). `name` is its dir and cgroup. */
export async function runPod(kind: PodKind, env: PodEnv, name: string = kind): Promise<PodResult> {
  const base = env.sinkChild ? 0 : await env.receiver.settled();
  const r = await inPod(env, name, (env, pod, dir) => measurePod(kind, env, pod, dir));
  if (!env.sinkChild) r.late = (await env.receiver.settled()) - base - r.delivered;
  return r;
}

interface Poll {
  wall: number;
  pod: number | null;
  warden: number | null;
  fluentd: number | null;
}

interface Mark {
  at: number;
  cpu: { warden: number | null; fluentd: number | null };
  pod: number | null;
}

async function measurePod(kind: PodKind, env: PodEnv, pod: PodCgroup, dir: string): Promise<PodResult> {
  const spawnedAt = performance.now();
  const row = await startRow(kind, env, pod, dir);
  const expected = env.tree.lines;
  const mark = (): Mark => ({ at: performance.now(), cpu: row.cpu(), pod: pod.cpuSeconds() });
  let start: Mark | null = null;
  let startWall = 0;
  let drainedAt: number | null = null;
  const polls: Poll[] = [];
  const poll = (): Poll => ({ wall: Date.now(), pod: pod.cpuSeconds(), ...row.cpu() });
  let delivered = 0;
  let halfAt: number | null = null;
  let peakWorkingSet: number | null = null;
  let peakUnreclaimable: number | null = null;
  const deadline = spawnedAt + env.timeoutMs;
  for (;;) {
    const { workingSetBytes: ws, unreclaimableBytes: held } = pod.memory();
    if (ws !== null && (peakWorkingSet === null || ws > peakWorkingSet)) peakWorkingSet = ws;
    if (held !== null && (peakUnreclaimable === null || held > peakUnreclaimable)) peakUnreclaimable = held;
    const failed = row.failed();
    if (failed) throw new Error(failed);
    if (start === null && (await row.ready())) {
      start = mark();
      startWall = Date.now();
    }
    if (start !== null) polls.push(poll());
    const acked: { bytes: number; lastMovedMs: number } | null = start !== null && drainedAt === null ? row.committed() : null;
    if (acked && acked.bytes >= env.tree.bytes) drainedAt = acked.lastMovedMs;
    delivered = await row.delivered();
    if (start !== null && halfAt === null && delivered * 2 >= expected) halfAt = performance.now();
    if (delivered >= expected || performance.now() > deadline) break;
    await sleep(150);
  }
  const end = mark();
  start ??= end;
  const recordsPerChunk = await row.recordsPerChunk();
  // Drained within the poll that first saw the pod ready: half was delivered by then.
  if (halfAt === null && delivered * 2 >= expected) halfAt = end.at;
  // The last lines can be delivered before the next checkpoint write (each second) records them.
  for (let waited = 0; drainedAt === null && row.committed() !== null && delivered >= expected && waited < 3000; waited += 100) {
    await sleep(100);
    polls.push(poll());
    const acked = row.committed();
    if (acked && acked.bytes >= env.tree.bytes) drainedAt = acked.lastMovedMs;
  }
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  const perM = (a: number | null, b: number | null) => (a === null || b === null ? null : (a - b) / (Math.min(delivered, expected) / 1e6));
  return {
    kind,
    seconds: (end.at - start.at) / 1000,
    bootSeconds: (start.at - spawnedAt) / 1000,
    halfSeconds: halfAt === null ? null : (halfAt - start.at) / 1000,
    backlog:
      drainedAt === null
        ? null
        : {
            seconds: (drainedAt - startWall) / 1000,
            podCpuSeconds: diff(cpuAt(polls, drainedAt, 'pod'), start.pod),
            wardenCpuSeconds: diff(cpuAt(polls, drainedAt, 'warden'), start.cpu.warden),
            fluentdCpuSeconds: diff(cpuAt(polls, drainedAt, 'fluentd'), start.cpu.fluentd),
          },
    wallSeconds: (end.at - spawnedAt) / 1000,
    delivered,
    late: null,
    expected,
    stats: pod.stats(),
    peakWorkingSet,
    peakUnreclaimable,
    cgroup: pod.version,
    quotaMillicores: pod.limits.cpuMillicores,
    limitBytes: pod.limits.memoryBytes,
    podCpuSeconds: diff(end.pod, start.pod),
    wardenCpuPerM: perM(end.cpu.warden, start.cpu.warden),
    fluentdCpuPerM: perM(end.cpu.fluentd, start.cpu.fluentd),
    wardenPid: row.wardenPid,
    wardenLog: row.wardenLog,
    recordsPerChunk,
    transitions: row.wardenLog ? budgetTransitions(row.wardenLog) : [],
  };
}
