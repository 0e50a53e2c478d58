// Processes and the tree below one of them. One walk serves every caller of a tick: the budget
// sampler and the child's escaped-descendant tracking share a TreeWalker, and a snapshot taken
// no longer than a caller's `maxAgeMs` ago is handed out again instead of a second walk.
// The tree is read through /proc/<pid>/task/<tid>/children where the kernel has them
// (CONFIG_PROC_CHILDREN), else found by one scan of /proc/*/stat.
import { listDir, listPids, readText } from './read.js';
import { readStat, type ProcStat } from './stat.js';

/** Every readable process under `procRoot`; processes that vanish while being read are skipped. */
export function listProcs(procRoot = '/proc'): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of listPids(procRoot)) {
    const st = readStat(pid, procRoot);
    if (st) out.push(st);
  }
  return out;
}

/** The processes below `rootPid` in the parent links of `procs`, nearest first, each once. */
export function descendantsOf(rootPid: number, procs: ProcStat[]): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const p of procs) {
    const list = byParent.get(p.ppid);
    if (list) list.push(p);
    else byParent.set(p.ppid, [p]);
  }
  const seen = new Set<number>([rootPid]);
  const out: ProcStat[] = [];
  const todo = [rootPid];
  for (let i = 0; i < todo.length; i++) {
    for (const c of byParent.get(todo[i]!) ?? []) {
      if (seen.has(c.pid)) continue;
      seen.add(c.pid);
      out.push(c);
      todo.push(c.pid);
    }
  }
  return out;
}

/**
 * The members of a tree rooted at `rootPid` that left its process group (setsid, or a group of
 * their own), zombies left out: a group signal misses them.
 */
export function escapedFrom(rootPid: number, tree: ProcStat[]): ProcStat[] {
  return tree.filter((p) => p.pid !== rootPid && p.pgrp !== rootPid && p.state !== 'Z');
}

/** One walk of the tree below `rootPid`, at `at` (the walker's clock, before the reads). */
export interface TreeSnapshot {
  at: number;
  rootPid: number;
  /** Root first, then descendants, nearest first; empty when the root does not exist. */
  procs: ProcStat[];
}

export interface TreeWalkerOptions {
  procRoot?: string;
  /** Monotonic milliseconds. */
  now?: () => number;
}

export class TreeWalker {
  readonly procRoot: string;
  private readonly now: () => number;
  private childrenFiles: boolean | null = null;
  private last: TreeSnapshot | null = null;

  constructor(opts: TreeWalkerOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.now = opts.now ?? (() => performance.now());
  }

  /** A fresh walk of the tree below `rootPid`; it becomes the one `latest` hands out. */
  walk(rootPid: number): TreeSnapshot {
    const at = this.now();
    const root = readStat(rootPid, this.procRoot);
    let procs: ProcStat[] = [];
    if (root) {
      this.childrenFiles ??= readText(`${this.procRoot}/${rootPid}/task/${rootPid}/children`) !== null;
      procs = [root, ...(this.childrenFiles ? this.byChildren(rootPid) : descendantsOf(rootPid, listProcs(this.procRoot)))];
    }
    this.last = { at, rootPid, procs };
    return this.last;
  }

  /** The last walk of `rootPid` when it is at most `maxAgeMs` old, else a fresh one. */
  latest(rootPid: number, maxAgeMs: number): TreeSnapshot {
    const last = this.last;
    if (last && last.rootPid === rootPid && this.now() - last.at <= maxAgeMs) return last;
    return this.walk(rootPid);
  }

  private byChildren(rootPid: number): ProcStat[] {
    const seen = new Set<number>([rootPid]);
    const out: ProcStat[] = [];
    const todo = [rootPid];
    for (let i = 0; i < todo.length; i++) {
      const dir = `${this.procRoot}/${todo[i]}/task`;
      for (const tid of listDir(dir)) {
        const text = readText(`${dir}/${tid}/children`);
        for (const c of text ? text.trim().split(/\s+/) : []) {
          const pid = Number(c);
          if (!c || seen.has(pid)) continue;
          seen.add(pid);
          const st = readStat(pid, this.procRoot);
          if (st) {
            out.push(st);
            todo.push(pid);
          }
        }
      }
    }
    return out;
  }
}
