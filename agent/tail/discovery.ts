// Which files to tail: every input's globs minus `tail.exclude`, found by a walk of each glob's
// fixed prefix (the rescan, a readdir + stat per file) and hinted by chokidar events in between.
// inotify events get lost under load and watches run out (ENOSPC/EMFILE), so the rescan is the
// source of truth and chokidar only shortens the wait; when watching fails, the rescan carries on alone.
//
// Safety (see confine.ts): the roots are `tail.roots` plus the fixed prefix of every glob not
// already inside one, resolved through symlinks. A path is tailed only when its realpath, whole,
// lies inside them: a walk starts only at a prefix that resolves inside and never enters a symlink
// or an excluded directory; a path from an event (which may run through a directory swapped for a
// symlink since) is resolved again. FIFOs, sockets, devices and directories are never opened
// (opening a FIFO for reading blocks). What is opened is checked again on its descriptor.
import { lstatSync, promises as fsp, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Config, InputConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../health/metrics.js';
import type { CheckpointEntry } from './checkpoint.js';
import { findByInode, openConfined, Roots, type Opened } from './confine.js';
import { compileGlob, isInside, type CompiledGlob } from './glob.js';
import type { DirInodes, Listed } from './rotations.js';

export interface Candidate {
  /** The path as found (may be a symlink). */
  path: string;
  /** The resolved regular file. */
  realPath: string;
  input: InputConfig;
  dev: number;
  ino: number;
  size: number;
  /**
   * Reused from an earlier scan because its directory did not change: identity and type still
   * hold, but `size` is the size then, not now (growth is for events and the per-file re-check).
   */
  reused?: boolean;
}

/** A directory as last listed: reused while its mtime, ctime and inode stay the same. */
interface DirMemo {
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Each entry with its full path, joined once while the directory stays unchanged. */
  entries: Array<{ name: string; path: string; dir: boolean }>;
}

/**
 * A rescan lists a directory (readdir + lstat of each match) only when its mtime changed since the
 * last scan; an unchanged directory costs one stat and its files' last classification is reused.
 * A directory's mtime changes when entries are added, removed or renamed, not when a file grows
 * or is truncated in place, so every FULL_SCAN_EVERY-th scan lists and classifies everything again:
 * that pass catches growth and truncation whose inotify events were lost (the only other way
 * warden would see them), within FULL_SCAN_EVERY × rescan_interval_ms.
 */
export const FULL_SCAN_EVERY = 6;
/**
 * A directory changed this recently may change again within the same mtime tick (the kernel's
 * coarse clock), invisibly to a later stat: it is listed again next time ("racy" entries, as git
 * treats its index).
 */
const RACY_MS = 2000;

interface InputGlobs {
  input: InputConfig;
  globs: CompiledGlob[];
}

export type RefuseReason = 'outside_roots' | 'not_regular' | 'symlink_loop';

const REFUSE_MESSAGES: Record<RefuseReason, string> = {
  outside_roots: 'refusing a path that resolves outside tail.roots; never opened',
  not_regular: 'skipping a path that is not a regular file; never opened',
  symlink_loop: 'skipping a symlink loop (ELOOP: too many levels of symbolic links); never opened',
};

export class Discovery {
  private inputs: InputGlobs[] = [];
  private excludes: CompiledGlob[] = [];
  private roots = new Roots([]);
  /** The roots being resolved after configure(); scans and checks wait for it. */
  private resolving: Promise<void> = Promise.resolve();
  private readonly refusedPaths = new Map<string, RefuseReason>();
  private watcher: FSWatcher | null = null;
  private watchFailed = false;
  private readonly watchedDirs = new Set<string>();
  /** Directories the last scan could not list (EACCES, EIO…), by errno: their files are hidden, not gone. */
  private unlistable = new Map<string, string>();
  /** `path\0errno` of failures already warned about (directories and symlinks), once each until they pass. */
  private readonly warned = new Set<string>();
  private dirMemo = new Map<string, DirMemo>();
  /** Classification of regular (non-symlink) paths at the last scan; a symlink's target can change unseen. */
  private fileMemo = new Map<string, Candidate | null>();
  private scans = 0;

  constructor(
    config: Config,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.configure(config);
  }

  configure(config: Config): void {
    this.inputs = config.inputs.map((input) => ({ input, globs: input.paths.map(compileGlob) }));
    this.excludes = config.tail.exclude.map(compileGlob);
    // A prefix inside a root adds nothing, and must not: if it is a symlink out, its target is not allowed.
    const roots = config.tail.roots;
    const own = this.inputs.flatMap((i) => i.globs.map((g) => g.prefix)).filter((p) => !roots.some((r) => isInside(p, r)));
    const next = new Roots([...roots, ...own]);
    this.resolving = next.resolve().then(() => {
      this.roots = next;
    });
    // Roots and inputs decide classifications: the next scan lists and classifies everything.
    this.scans = 0;
  }

  /** Resolve the roots (a root may be a symlink, e.g. /var/log → /data/log); scans wait for it too. */
  async init(): Promise<void> {
    await this.resolving;
    this.scans = 0;
  }


  prefixes(): Array<{ dir: string; depth: number }> {
    return this.inputs.flatMap((i) => i.globs.map((g) => ({ dir: g.prefix, depth: g.depth })));
  }

  /** The input a path belongs to, or null (no glob matches, or an exclude does). */
  inputFor(path: string): InputConfig | null {
    if (this.excludes.some((g) => g.match(path))) return null;
    for (const i of this.inputs) if (i.globs.some((g) => g.match(path))) return i.input;
    return null;
  }

  /** Walk every glob's prefix; returns the files to tail (first input wins on overlap). */
  async scan(): Promise<Candidate[]> {
    await this.resolving;
    const out = new Map<string, Candidate>();
    const unlistable = new Map<string, string>();
    const onDirError = (dir: string, err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EUNKNOWN';
      unlistable.set(dir, code);
      this.warnOnce(dir, code, { dir, code, err: String(err) }, 'cannot list an input directory; its files are not tailed until it can be read (missing CAP_DAC_READ_SEARCH?)');
    };
    const full = this.scans++ % FULL_SCAN_EVERY === 0;
    const dirs: Listing = { prev: full ? new Map() : this.dirMemo, next: new Map(), unchanged: new Set() };
    const fileMemo = new Map<string, Candidate | null>();
    const excluded = (p: string) => this.excluded(p);
    for (const { input, globs } of this.inputs) {
      for (const g of globs) {
        const realPrefix = this.walkable(g.prefix);
        if (realPrefix === null) continue;
        for (const path of await walk(g.prefix, g.depth, g, excluded, onDirError, dirs)) {
          if (out.has(path) || excluded(path)) continue;
          let c: Candidate | null;
          const memo = dirs.unchanged.has(dirname(path)) ? this.fileMemo.get(path) : undefined;
          if (memo === null || (memo !== undefined && memo.input === input)) {
            // Memos are stored marked `reused` (and never changed): handed out as they are.
            if (!fileMemo.has(path)) fileMemo.set(path, memo);
            c = memo;
          } else {
            const regular: { is?: boolean } = {};
            // The walk entered real directories only, from a prefix resolved just now: the file's
            // directory resolves to the prefix's realpath plus the rest of its path.
            c = await this.classify(path, input, realPrefix + dirname(path).slice(g.prefix.length), regular);
            if (regular.is && !fileMemo.has(path)) fileMemo.set(path, c && { ...c, reused: true });
          }
          if (c) out.set(path, c);
        }
      }
    }
    this.dirMemo = dirs.next;
    this.fileMemo = fileMemo;
    for (const [dir, code] of this.unlistable) {
      if (unlistable.get(dir) === code) continue;
      this.warned.delete(`${dir}\0${code}`);
      if (!unlistable.has(dir)) this.logger.info({ dir, was: code }, 'input directory can be listed again');
    }
    this.unlistable = unlistable;
    return [...out.values()];
  }

  private excluded(path: string): boolean {
    return this.excludes.some((x) => x.match(path));
  }

  /**
   * A glob's prefix resolved, when it lies inside the roots: it is where a walk starts. A prefix
   * swapped for a symlink out is refused (never walked), one that does not exist yet is skipped.
   */
  private walkable(prefix: string): string | null {
    const where = this.roots.resolveDir(prefix);
    if (!where) return null;
    if (!where.inside) return this.refuse(prefix, 'outside_roots', { target: where.real });
    this.refusedPaths.delete(prefix);
    return where.real;
  }

  /** True when `path` lies in a directory the last scan could not list: not seeing it says nothing. */
  hidden(path: string): boolean {
    for (const dir of this.unlistable.keys()) if (isInside(path, dir)) return true;
    return false;
  }

  private warnOnce(path: string, code: string, fields: Record<string, unknown>, msg: string): void {
    const key = `${path}\0${code}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(fields, msg);
  }

  /** Classify one path (after an event): a candidate, or null when not to be tailed. */
  async check(path: string): Promise<Candidate | null> {
    await this.resolving;
    const input = this.inputFor(path);
    return input ? this.classify(path, input, null) : null;
  }

  /**
   * A checkpointed file no longer at its path (rotated while warden was down), found again by its
   * inode beside where it was. A checkpoint is data, not authority: its paths are checked like
   * discovered ones (an input's glob must match its path, its directory must resolve inside the
   * roots, and so must the file), and opening it goes through the same confined open.
   */
  async recovered(e: CheckpointEntry, listed?: DirInodes): Promise<Candidate | null> {
    await this.resolving;
    const named = this.inputs.find((i) => i.input.name === e.input && i.globs.some((g) => g.match(e.path)));
    const input = named?.input ?? this.inputFor(e.path);
    if (!input) return null;
    const found = await this.findByInode(dirname(e.real_path ?? e.path), e.dev, e.ino, listed);
    if (!found) return null;
    const c = await this.classify(found, input, null);
    if (!c || c.dev !== e.dev || c.ino !== e.ino) return null;
    return { ...c, path: e.path };
  }

  /** The file with (dev, ino) in `dir`, listed only when `dir` resolves inside the roots (a refusal otherwise). */
  async findByInode(dir: string, dev: number, ino: number, listed?: DirInodes): Promise<string | null> {
    const r = await findByInode(dir, dev, ino, this.roots, listed);
    if (r.outside !== undefined) this.refuse(dir, 'outside_roots', { target: r.outside });
    return r.path;
  }

  /**
   * The regular files of `dir` (each directory once per `listed`), listed only when `dir`
   * resolves inside the roots: a refusal otherwise, and nothing listed.
   */
  async listDir(dir: string, listed: DirInodes): Promise<Listed[]> {
    const where = this.roots.resolveDir(dir);
    if (!where) return [];
    if (!where.inside) {
      this.refuse(dir, 'outside_roots', { target: where.real });
      return [];
    }
    return [...(await listed.list(dir)).values()];
  }

  /**
   * A rotated sibling of a tailed file (`0.log.<ts>` beside `0.log`), read for the input of the
   * file it was rotated from and shown under that file's `path`: classified like a discovered
   * file (roots, regular), and only while it is still (dev, ino).
   */
  async sibling(found: Listed, path: string, input: InputConfig): Promise<Candidate | null> {
    const c = await this.classify(found.path, input, null);
    if (!c || c.dev !== found.dev || c.ino !== found.ino) return null;
    return { ...c, path };
  }

  /**
   * Open a classified file (see confine.ts): the descriptor must resolve inside the roots and be
   * (dev, ino). A refusal is counted and logged here, once per path.
   */
  async open(path: string, dev: number, ino: number): Promise<Opened> {
    const opened = await openConfined(path, dev, ino, this.roots);
    if ('refused' in opened) this.refuse(path, opened.refused, { target: opened.target, at: 'open' });
    return opened;
  }

  /**
   * `realDir` is the realpath of the path's directory when the caller knows it (a walk), else it
   * is resolved here. `regular.is` is set when the path itself is not a symlink: then its answer
   * may be reused while its directory is unchanged.
   */
  private async classify(path: string, input: InputConfig, realDir: string | null, regular?: { is?: boolean }): Promise<Candidate | null> {
    let l: Stats | undefined;
    try {
      l = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return null; // EACCES on the directory, ENOTDIR: as good as absent for now
    }
    if (!l) return null;
    if (regular) regular.is = !l.isSymbolicLink();
    let realPath = path;
    let st = l;
    if (l.isSymbolicLink()) {
      try {
        realPath = await fsp.realpath(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
        // Dangling (ENOENT, ENOTDIR): the target may appear later; that is normal, and quiet.
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        if (code === 'ELOOP') return this.refuse(path, 'symlink_loop', { code });
        this.warnOnce(path, code, { path, code, err: String(err) }, 'cannot resolve a symlink; skipped, tried again on the next rescan');
        return null;
      }
      if (!this.roots.contains(realPath)) return this.refuse(path, 'outside_roots', { target: realPath });
      try {
        st = await fsp.stat(realPath);
      } catch {
        return null;
      }
    } else {
      // Never by the string: a directory on the path may be a symlink out (swapped in since the walk).
      let dir = realDir;
      if (dir === null) {
        try {
          dir = realpathSync.native(dirname(path));
        } catch {
          return null; // gone meanwhile
        }
      }
      const real = join(dir, basename(path));
      if (!this.roots.contains(real)) return this.refuse(path, 'outside_roots', { target: real });
    }
    if (!st.isFile()) return this.refuse(path, 'not_regular', { type: fileType(st) });
    this.refusedPaths.delete(path);
    return { path, realPath, input, dev: st.dev, ino: st.ino, size: st.size };
  }

  private refuse(path: string, reason: RefuseReason, extra: Record<string, unknown>): null {
    // Counted and logged once per path, not once per rescan.
    if (this.refusedPaths.get(path) !== reason) {
      this.refusedPaths.set(path, reason);
      this.metrics.refused.inc({ reason });
      this.logger.warn({ path, reason, ...extra }, REFUSE_MESSAGES[reason]);
    }
    return null;
  }

  /** Start chokidar on every prefix; `onPath` gets paths that may have changed. */
  startWatching(onPath: (event: string, path: string) => void): void {
    if (this.watcher || this.watchFailed) return;
    const prefixes = this.prefixes();
    const depth = Math.max(0, ...prefixes.map((p) => (p.depth === Infinity ? 99 : p.depth)));
    try {
      // chokidar re-reads a watched directory by its path: after `mv d d.old; ln -s OUT d` that read
      // goes through the symlink. Excluded directories and directories that resolve outside the
      // roots are not watched; file events from such a read are refused by check().
      const ignored = (p: string, st?: Stats) => this.excluded(p) || (st?.isDirectory() === true && this.roots.resolveDir(p)?.inside !== true);
      this.watcher = watch([], { ignoreInitial: true, followSymlinks: false, depth, ignorePermissionErrors: true, persistent: false, ignored });
    } catch (err) {
      this.watchFailed = true;
      this.logger.warn({ err: String(err) }, 'file watching unavailable; relying on the periodic rescan');
      return;
    }
    const w = this.watcher;
    for (const ev of ['add', 'change', 'unlink'] as const) w.on(ev, (p: string) => onPath(ev, p));
    w.on('error', (err: unknown) => {
      const code = (err as NodeJS.ErrnoException)?.code;
      this.logger.warn({ err: String(err), code }, 'file watching failed (inotify watches or descriptors exhausted?); falling back to the periodic rescan alone');
      this.watchFailed = true;
      this.watcher = null;
      void w.close().catch(() => {});
    });
    for (const p of prefixes) if (this.roots.resolveDir(p.dir)?.inside) this.watchDir(p.dir);
  }

  /** Also watch the directory of a symlink's target, so growth behind /var/log/containers links is seen. */
  watchTargetDir(realPath: string): void {
    this.watchDir(dirname(realPath));
  }

  private watchDir(dir: string): void {
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

interface Listing {
  /** Directories as listed at the last scan (empty on a full scan). */
  prev: Map<string, DirMemo>;
  /** Directories as seen by this scan, for the next one. */
  next: Map<string, DirMemo>;
  /** Directories this scan did not list again: their files' last classification still holds. */
  unchanged: Set<string>;
}

/**
 * Paths below `dir`, at most `depth` directories down, that the glob matches. Symlinked and
 * excluded directories are not entered; below `dir` a directory is lstat'ed, so one swapped for a
 * symlink since its parent was listed is not entered either. A directory that cannot be listed
 * goes to `onError`, except when it does not exist (ENOENT, ENOTDIR): a missing input directory is
 * normal (no containers yet). A directory whose mtime, ctime and inode match `dirs.prev` is not
 * listed again: its last entries are reused.
 */
async function walk(
  dir: string,
  depth: number,
  g: CompiledGlob,
  excluded: (path: string) => boolean,
  onError: (dir: string, err: NodeJS.ErrnoException) => void,
  dirs: Listing,
): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string, level: number) => {
    let entries: DirMemo['entries'];
    const again = dirs.next.get(d);
    const memo = dirs.prev.get(d);
    if (again) {
      // A second glob over the same directory in this scan.
      entries = again.entries;
    } else {
      let st: Stats;
      try {
        // Stat before readdir: an entry added in between moves the mtime past the one recorded.
        // Synchronous on purpose (here, for readdir, and for the lstat in classify): these are
        // dentry-cache hits, and a thread-pool round trip each (two thread switches and a loop
        // wake-up) was most of an idle rescan's CPU.
        st = level === 0 ? statSync(d) : lstatSync(d);
        if (!st.isDirectory()) return;
        if (memo && st.mtimeMs === memo.mtimeMs && st.ctimeMs === memo.ctimeMs && st.ino === memo.ino) {
          entries = memo.entries;
          dirs.unchanged.add(d);
        } else entries = readdirSync(d, { withFileTypes: true }).map((e) => ({ name: e.name, path: join(d, e.name), dir: e.isDirectory() }));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') onError(d, err as NodeJS.ErrnoException);
        return;
      }
      if (Date.now() - st.mtimeMs > RACY_MS) dirs.next.set(d, { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, entries });
    }
    for (const e of entries) {
      const p = e.path;
      if (g.match(p)) out.push(p);
      if (e.dir && level < depth && !excluded(p)) await visit(p, level + 1);
    }
  };
  await visit(dir, 0);
  return out;
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'other';
}
