// PID-1 duties. Node reaps only the children it spawned: it cannot waitpid() the orphans the
// kernel reparents to PID 1 without a native addon. The shipped answer is tini as PID 1 in the
// image (`tini -- warden run`); when warden finds itself PID 1 anyway it says so at start-up and
// counts the zombies that pile up, so the problem is visible instead of silent.
import { listProcs } from './procfs/tree.js';

/** The start-up warning when running as PID 1; null otherwise. */
export function pid1Warning(pid: number): string | null {
  if (pid !== 1) return null;
  return (
    'warden is PID 1 and cannot reap orphaned processes: zombies of the child tree will accumulate. ' +
    'Run it under an init: `tini -- warden run` (the shipped image does), `docker run --init`, ' +
    'or `shareProcessNamespace: true` in the pod spec (the pause container reaps).'
  );
}

/** Zombies whose parent is PID 1: orphans nobody reaps. Counted in this PID namespace's `/proc`. */
export function countZombieOrphans(procRoot = '/proc'): number {
  return listProcs(procRoot).filter((p) => p.state === 'Z' && p.ppid === 1).length;
}

/** Sets `gauge` to the count of zombie orphans once a second; the returned function ends it. */
export function watchZombieOrphans(gauge: { set(value: number): void }, procRoot = '/proc'): () => void {
  const timer = setInterval(() => gauge.set(countZombieOrphans(procRoot)), 1000);
  timer.unref();
  return () => clearInterval(timer);
}
