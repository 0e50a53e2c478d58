// Watching the glob prefixes for hints: one inotify watch per directory (node:fs watch), down to
// each prefix's depth, and the directories symlinks resolve into. Events are names only, never
// stat'ed or listed per event: a write is a `change` of its path, a name that appears, vanishes
// or is renamed an `add` for Discovery.check to judge. (chokidar, used before, re-listed a
// directory and stat'ed the file on every write inside it: most of warden's CPU at a steady
// 1,000 lines/s.) inotify events get lost under load and watches run out (ENOSPC/EMFILE), so the
// rescan stays the source of truth; when watching fails, it stops for good and the rescan carries
// on alone.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/log.js';
import { DirWatchers, entriesOf, type DirWatchersOptions, type WatchEvent } from './dir-watchers.js';

/** Deepest level below a prefix that is watched when its glob has `**` (depth Infinity). */
const MAX_WATCH_DEPTH = 16;

export class PathWatcher {
  private dirs: DirWatchers | null = null;
  private failed = false;
  /** Levels still watched below each watched directory (0: only the directory itself). */
  private readonly below = new Map<string, number>();
  private onPath: (event: string, path: string) => void = () => {};
  private prefixes: Array<{ dir: string; depth: number }> = [];

  constructor(
    private readonly logger: Logger,
    /** A path not to watch (excluded). */
    private readonly ignored: (path: string) => boolean,
    /** Whether a directory resolves inside the roots (only those are watched). */
    private readonly inside: (dir: string) => boolean,
  ) {}

  /**
   * Watch every prefix down to its depth; `onPath` gets paths that may have changed. A busy
   * directory's watch rests until wake(), at most `rest.restMs` (see DirWatchers).
   */
  start(prefixes: Array<{ dir: string; depth: number }>, onPath: (event: string, path: string) => void, rest: Pick<DirWatchersOptions, 'restMs' | 'onRest'> = {}): void {
    if (this.dirs || this.failed) return;
    this.onPath = onPath;
    this.prefixes = prefixes;
    this.dirs = new DirWatchers({
      ...rest,
      onEvent: (ev, path) => this.onEvent(ev, path),
      onUnavailable: (err) => {
        this.logger.warn({ err: String(err), code: err.code }, 'file watching failed (inotify watches or descriptors exhausted?); falling back to the periodic rescan alone');
        this.failed = true;
        this.dirs = null;
        this.below.clear();
      },
    });
    this.retry();
  }

  /** After a rescan: watch the prefixes that could not be watched before (missing then). */
  retry(): void {
    for (const p of this.prefixes) this.watchTree(p.dir, Math.min(p.depth, MAX_WATCH_DEPTH), false);
  }

  /** Watch `dir` itself too (the directory a symlink resolves into). */
  watchDir(dir: string): void {
    this.watchTree(dir, 0, false);
  }

  watching(): boolean {
    return this.dirs !== null;
  }

  /** The flush tick: resting directories are watched again, what they missed reported. */
  wake(): void {
    this.dirs?.wake();
  }

  async close(): Promise<void> {
    this.dirs?.close();
    this.dirs = null;
    this.below.clear();
  }

  /**
   * Watches `dir` and, `levels` deep, the directories below it. Symlinked, excluded and outside
   * directories are not entered. `announce`: the directory is new, so what is already in it is
   * reported (it may have been filled before its watch began).
   */
  private watchTree(dir: string, levels: number, announce: boolean): void {
    const dirs = this.dirs;
    if (!dirs || this.ignored(dir) || !this.inside(dir)) return;
    if ((this.below.get(dir) ?? -1) >= levels) return;
    if (!dirs.watch(dir)) return;
    this.below.set(dir, levels);
    for (const e of entriesOf(dir)) {
      const path = join(dir, e.name);
      if (announce) this.onPath('add', path);
      if (levels > 0 && e.isDirectory()) this.watchTree(path, levels - 1, announce);
    }
  }

  private onEvent(ev: WatchEvent, path: string): void {
    if (ev === 'change') {
      this.onPath('change', path);
      return;
    }
    const levels = this.below.get(path.slice(0, path.lastIndexOf('/')) || '/');
    const watched = this.below.has(path);
    if ((levels !== undefined && levels > 0) || watched) {
      const dir = isDirectory(path);
      if (dir && levels !== undefined && levels > 0) this.watchTree(path, levels - 1, true);
      else if (!dir && watched) this.forget(path);
    }
    this.onPath('add', path);
  }

  /** A watched directory is gone: its watch and those below it. */
  private forget(dir: string): void {
    for (const d of [...this.below.keys()]) {
      if (d === dir || d.startsWith(`${dir}/`)) {
        this.below.delete(d);
        this.dirs?.unwatch(d);
      }
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
