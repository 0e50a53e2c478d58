// One inotify watch per directory (node:fs watch, not recursive), reporting names only. A write to
// a file in a watched directory is a `change` of that path; a name that appears, vanishes or is
// renamed is an `entry`. Nothing is stat'ed or listed per event: events are hints, the caller
// decides (the pipeline reads the file it already holds open; discovery checks an entry). Watches
// that cannot be made because the kernel's limits are reached (ENOSPC, EMFILE) end watching as a
// whole: `onUnavailable` is told once and the periodic rescan carries on alone.
//
// Every event wakes the process, and a container's runtime writes each line on its own: 1,000
// lines/s into one file were ~900 wake-ups a second, ~17m of CPU with nothing done per event. With
// `restMs` set, a directory that sees REST_AFTER writes between two wake() calls (the flush tick
// calls it) rests: its watch is closed until the next wake(), at most `restMs`, since its files are
// read at that tick anyway. At each wake() a resting directory is listed: each file in it is
// reported as a `change` (read if tailed), or, when the directory's mtime moved (names created,
// renamed or removed while it rested), each name as an `entry`. A busy directory stays busy: its
// watch is made again (first, before the listing) only at every POLL_PERIODS-th wake, to see
// whether it still is; in between it is listed at each wake and costs no event, no watch made or
// closed. A directory that quietens is so watched again within POLL_PERIODS ticks.
import { watch, lstatSync, readdirSync, type Dirent, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';

export type WatchEvent = 'change' | 'entry';

export interface DirWatchersOptions {
  onEvent: (event: WatchEvent, path: string) => void;
  /** Watching is over (inotify watches or descriptors exhausted); called at most once. */
  onUnavailable: (err: NodeJS.ErrnoException) => void;
  /** Makes the watcher; a parameter for tests. */
  watchFn?: typeof watch;
  /** Longest rest of a busy directory's watch (see above); no resting when unset. */
  restMs?: number;
  /** A directory's watch began to rest. */
  onRest?: (dir: string) => void;
}

/** The entries of `dir`, none when it cannot be listed (gone, unreadable): a watch only hints. */
export function entriesOf(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Writes seen in one directory between two wake() calls after which its watch rests. */
export const REST_AFTER = 8;
/** Wakes a directory's watch rests for, listed at each: its watch is made again at the last. */
export const POLL_PERIODS = 8;

interface Watched {
  /** null while the directory rests. */
  w: FSWatcher | null;
  ino: number;
  /** The wake period `changes` were counted in. */
  period: number;
  changes: number;
  /** The directory's mtime when it began to rest (or was last listed while resting). */
  mtime: bigint;
  /** Wakes since the watch began to rest. */
  rested: number;
}

const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

export class DirWatchers {
  private readonly dirs = new Map<string, Watched>();
  private readonly resting = new Set<string>();
  private period = 0;
  private wakeTimer: NodeJS.Timeout | null = null;
  private failed = false;

  constructor(private readonly opts: DirWatchersOptions) {}

  /** Watches `dir`; false when it cannot be (missing, unreadable, or watching is over). */
  watch(dir: string): boolean {
    if (this.failed) return false;
    if (this.dirs.has(dir)) return true;
    let ino: number;
    let w: FSWatcher;
    try {
      ino = lstatSync(dir).ino;
      w = this.make(dir);
    } catch (err) {
      this.onError(dir, err as NodeJS.ErrnoException);
      return false;
    }
    this.dirs.set(dir, { w, ino, period: this.period, changes: 0, mtime: 0n, rested: 0 });
    return true;
  }

  /** Directories whose watch rests now. */
  get restingCount(): number {
    return this.resting.size;
  }

  /**
   * The resting directories are listed, and watched again where they have rested POLL_PERIODS
   * wakes (see above); a new period of counting writes begins for all.
   */
  wake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.period++;
    if (this.resting.size === 0) return;
    for (const dir of [...this.resting]) {
      const d = this.dirs.get(dir);
      if (d && ++d.rested < POLL_PERIODS && !this.failed) {
        this.list(dir, d, false);
        continue;
      }
      this.resting.delete(dir);
      this.resume(dir);
    }
    if (this.resting.size > 0) this.wakeTimer = setTimeout(() => this.wake(), this.opts.restMs).unref();
  }

  private make(dir: string): FSWatcher {
    const w = (this.opts.watchFn ?? watch)(dir, { persistent: false }, (event, name) => this.onRaw(dir, event, name));
    w.on('error', (err) => this.onError(dir, err as NodeJS.ErrnoException));
    return w;
  }

  /** One more write in `dir`; past REST_AFTER in this period its watch rests. */
  private counted(dir: string): void {
    const d = this.dirs.get(dir);
    if (this.opts.restMs === undefined || !d?.w) return;
    if (d.period !== this.period) {
      d.period = this.period;
      d.changes = 0;
    }
    if (++d.changes < REST_AFTER) return;
    // The mtime before the watch closes: a name made in between moves it, and is listed at wake.
    const st = lstatSync(dir, { bigint: true, throwIfNoEntry: false });
    if (!st) return;
    d.mtime = st.mtimeNs;
    d.rested = 0;
    d.w.close();
    d.w = null;
    this.resting.add(dir);
    this.wakeTimer ??= setTimeout(() => this.wake(), this.opts.restMs).unref();
    this.opts.onRest?.(dir);
  }

  private resume(dir: string): void {
    const d = this.dirs.get(dir);
    if (!d || d.w || this.failed) return;
    this.list(dir, d, true);
  }

  /**
   * A resting directory's files reported as changed, or every name as an entry where its mtime
   * moved; with `rewatch` its watch is made first. A directory gone or replaced is an entry itself
   * and no longer watched.
   */
  private list(dir: string, d: Watched, rewatch: boolean): void {
    const st = lstatSync(dir, { bigint: true, throwIfNoEntry: false });
    if (!st || Number(st.ino) !== d.ino) {
      this.unwatch(dir);
      this.opts.onEvent('entry', dir);
      return;
    }
    if (rewatch) {
      try {
        d.w = this.make(dir);
      } catch (err) {
        this.onError(dir, err as NodeJS.ErrnoException);
        return;
      }
    }
    const moved = st.mtimeNs !== d.mtime;
    d.mtime = st.mtimeNs;
    for (const e of entriesOf(dir)) {
      if (moved) this.opts.onEvent('entry', join(dir, e.name));
      else if (!e.isDirectory()) this.opts.onEvent('change', join(dir, e.name));
    }
  }

  has(dir: string): boolean {
    return this.dirs.has(dir);
  }

  get size(): number {
    return this.dirs.size;
  }

  /** False once watching is over. */
  available(): boolean {
    return !this.failed;
  }

  unwatch(dir: string): void {
    const d = this.dirs.get(dir);
    if (!d) return;
    this.dirs.delete(dir);
    this.resting.delete(dir);
    d.w?.close();
  }

  close(): void {
    for (const dir of [...this.dirs.keys()]) this.unwatch(dir);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
  }

  private onRaw(dir: string, event: string, name: string | Buffer | null): void {
    if (name === null) return;
    const n = String(name);
    // A watched directory that is removed or replaced reports its own name; its watch is dead.
    if (event === 'rename' && n === basename(dir) && !this.sameDir(dir)) {
      this.unwatch(dir);
      this.opts.onEvent('entry', dir);
      return;
    }
    // A name from inotify has no slash, and watched directories are normalized: a plain join.
    const path = dir.endsWith('/') ? dir + n : `${dir}/${n}`;
    if (event !== 'change') {
      this.opts.onEvent('entry', path);
      return;
    }
    this.opts.onEvent('change', path);
    this.counted(dir);
  }

  private sameDir(dir: string): boolean {
    try {
      return lstatSync(dir).ino === this.dirs.get(dir)?.ino;
    } catch {
      return false;
    }
  }

  private onError(dir: string, err: NodeJS.ErrnoException): void {
    this.unwatch(dir);
    if (!LIMIT_CODES.has(err.code ?? '') || this.failed) return;
    this.failed = true;
    this.close();
    this.opts.onUnavailable(err);
  }
}
