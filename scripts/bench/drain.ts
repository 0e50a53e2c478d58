// warden end to end over a backlog: `read_from: head` on the whole tree into its own
// `warden sink --count-only`, from the moment reading starts until every line is acked.
import { join } from 'node:path';
import { childPids, cpuSeconds, memoryMiB, RssSampler } from './proc.js';
import { DOCKER_DIR, dockerGlob, type DockerTree } from './tree.js';
import { metricSum, sleep, startWarden, type WardenRun } from './warden.js';
import type { Scope } from './row.js';

export interface DrainResult {
  lines: number;
  bytes: number;
  /** From the last scrape that saw nothing read yet to the first that saw every line acked. */
  seconds: number;
  /** The same, from spawning warden (startup, child start, handshake included). */
  secondsFromSpawn: number;
  /** warden's own utime+stime over `seconds` (the sink child excluded). */
  cpuSeconds: number;
  /** VmHWM of warden at the end: the peak RSS of the whole run. */
  peakRssMiB: number;
  /** The sink child's CPU over its whole life, for context. */
  sinkCpuSeconds: number | null;
  /** The warden process, for profiles. */
  pid: number;
}

export async function drain(scope: Scope, dir: string, tree: DockerTree, timeoutMs: number, nodeFlags: string[] = [], governorOff = false): Promise<DrainResult> {
  const spawnedAt = performance.now();
  const w: WardenRun = await startWarden({
    dir,
    globs: [dockerGlob(tree.root)],
    roots: [join(tree.root, DOCKER_DIR)],
    readFrom: 'head',
    nodeFlags,
    governorOff,
  });
  scope.defer(() => w.stop());
  const rss = new RssSampler(() => [w.pid]);
  scope.defer(() => rss.stop());
  let startAt = spawnedAt;
  let startCpu = 0;
  let began = false;
  const deadline = spawnedAt + timeoutMs;
  let acked = 0;
  for (;;) {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null) throw new Error(`warden exited during the drain: ${w.output().slice(-600)}`);
    if (performance.now() > deadline) throw new Error(`drain: ${acked} of ${tree.lines} lines acked after ${Math.round(timeoutMs / 1000)} s; warden said: ${w.output().slice(-400)}`);
    let m: Map<string, number> | null = null;
    const before = performance.now();
    const cpuBefore = cpuSeconds(w.pid) ?? 0;
    try {
      m = await w.metrics();
    } catch {
      // health endpoint not up yet
    }
    if (m) {
      if (!began) {
        if (metricSum(m, 'warden_tail_bytes_read_total') === 0) {
          startAt = before;
          startCpu = cpuBefore;
        } else began = true;
      }
      acked = metricSum(m, 'warden_forward_records_acked_total');
      if (acked >= tree.lines) break;
    }
    await sleep(m ? 100 : 25);
  }
  const end = performance.now();
  const cpuEnd = cpuSeconds(w.pid) ?? NaN;
  const mem = memoryMiB(w.pid);
  const sink = childPids(w.pid)[0];
  const sinkCpu = sink === undefined ? null : cpuSeconds(sink);
  rss.stop();
  return {
    lines: tree.lines,
    bytes: tree.bytes,
    seconds: (end - startAt) / 1000,
    secondsFromSpawn: (end - spawnedAt) / 1000,
    cpuSeconds: cpuEnd - startCpu,
    peakRssMiB: Math.max(mem?.hwm ?? 0, rss.peak),
    sinkCpuSeconds: sinkCpu,
    pid: w.pid,
  };
}
