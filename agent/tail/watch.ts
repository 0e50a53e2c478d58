// chokidar over the glob prefixes (and the directories symlinks resolve into): events that only
// shorten the wait for the rescan. inotify watches run out (ENOSPC/EMFILE) and events get lost
// under load; when watching fails, it stops for good and the rescan carries on alone.
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../../core/log.js';
import { isInside } from './glob.js';

export class PathWatcher {
  private watcher: FSWatcher | null = null;
  private failed = false;
  private readonly watchedDirs = new Set<string>();

  constructor(
    private readonly logger: Logger,
    /** A path not to watch (excluded); `st` is given for directories chokidar found. */
    private readonly ignored: (path: string, st?: Stats) => boolean,
    /** Whether a directory resolves inside the roots (only those are watched). */
    private readonly inside: (dir: string) => boolean,
  ) {}

  /** Start chokidar on every prefix; `onPath` gets paths that may have changed. */
  start(prefixes: Array<{ dir: string; depth: number }>, onPath: (event: string, path: string) => void): void {
    if (this.watcher || this.failed) return;
    const depth = Math.max(0, ...prefixes.map((p) => (p.depth === Infinity ? 99 : p.depth)));
    try {
      // chokidar re-reads a watched directory by its path: after `mv d d.old; ln -s OUT d` that read
      // goes through the symlink. Excluded directories and directories that resolve outside the
      // roots are not watched; file events from such a read are refused by Discovery.check().
      const ignored = (p: string, st?: Stats) => this.ignored(p, st) || (st?.isDirectory() === true && !this.inside(p));
      this.watcher = watch([], { ignoreInitial: true, followSymlinks: false, depth, ignorePermissionErrors: true, persistent: false, ignored });
    } catch (err) {
      this.failed = true;
      this.logger.warn({ err: String(err) }, 'file watching unavailable; relying on the periodic rescan');
      return;
    }
    const w = this.watcher;
    for (const ev of ['add', 'change', 'unlink'] as const) w.on(ev, (p: string) => onPath(ev, p));
    w.on('error', (err: unknown) => {
      const code = (err as NodeJS.ErrnoException)?.code;
      this.logger.warn({ err: String(err), code }, 'file watching failed (inotify watches or descriptors exhausted?); falling back to the periodic rescan alone');
      this.failed = true;
      this.watcher = null;
      void w.close().catch(() => {});
    });
    for (const p of prefixes) if (this.inside(p.dir)) this.watchDir(p.dir);
  }

  /** Watch `dir` too, unless it is watched already (itself or a directory above it). */
  watchDir(dir: string): void {
    if (!this.watcher || this.watchedDirs.has(dir)) return;
    if ([...this.watchedDirs].some((d) => isInside(dir, d))) return;
    this.watchedDirs.add(dir);
    this.watcher.add(dir);
  }

  watching(): boolean {
    return this.watcher !== null;
  }

  async close(): Promise<void> {
    const w = this.watcher;
    this.watcher = null;
    this.watchedDirs.clear();
    if (w) await w.close().catch(() => {});
  }
}
