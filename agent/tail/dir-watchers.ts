// One inotify watch per directory (node:fs watch, not recursive), reporting names only. A write to
// a file in a watched directory is a `change` of that path; a name that appears, vanishes or is
// renamed is an `entry`. Nothing is stat'ed or listed here: events are hints, the caller decides
// (the pipeline reads the file it already holds open; discovery checks an entry). Watches that
// cannot be made because the kernel's limits are reached (ENOSPC, EMFILE) end watching as a whole:
// `onUnavailable` is told once and the periodic rescan carries on alone.
import { watch, lstatSync, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';

export type WatchEvent = 'change' | 'entry';

export interface DirWatchersOptions {
  onEvent: (event: WatchEvent, path: string) => void;
  /** Watching is over (inotify watches or descriptors exhausted); called at most once. */
  onUnavailable: (err: NodeJS.ErrnoException) => void;
  /** Makes the watcher; a parameter for tests. */
  watchFn?: typeof watch;
}

const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

export class DirWatchers {
  private readonly dirs = new Map<string, { w: FSWatcher; ino: number }>();
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
      w = (this.opts.watchFn ?? watch)(dir, { persistent: false }, (event, name) => this.onRaw(dir, event, name));
    } catch (err) {
      this.onError(dir, err as NodeJS.ErrnoException);
      return false;
    }
    w.on('error', (err) => this.onError(dir, err as NodeJS.ErrnoException));
    this.dirs.set(dir, { w, ino });
    return true;
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
    d.w.close();
  }

  close(): void {
    for (const dir of [...this.dirs.keys()]) this.unwatch(dir);
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
    this.opts.onEvent(event === 'change' ? 'change' : 'entry', dir.endsWith('/') ? dir + n : `${dir}/${n}`);
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
