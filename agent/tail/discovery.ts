// Which files to tail: every input's globs minus `tail.exclude`, found by a walk of each glob's
// fixed prefix (the rescan, a readdir + stat per file) and hinted by chokidar events in between.
// inotify events get lost under load and watches run out (ENOSPC/EMFILE), so the rescan is the
// source of truth and chokidar only shortens the wait; when watching fails, the rescan carries on alone.
//
// Safety: a path is classified with lstat/stat before anything opens it. Symlinks are followed
// only when their target resolves inside `tail.roots` or a glob's fixed prefix; FIFOs, sockets,
// devices and directories are never opened (opening a FIFO for reading blocks).
import { lstatSync, promises as fsp, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Config, InputConfig } from '../../config/schema.js';
import type { Logger } from '../../supervisor/log.js';
import type { Metrics } from '../health/metrics.js';
import { compileGlob, isInside, type CompiledGlob } from './glob.js';

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
  private allowed: string[] = [];
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
    this.allowed = [...config.tail.roots, ...this.inputs.flatMap((i) => i.globs.map((g) => g.prefix))];
    // Roots and inputs decide classifications: the next scan lists and classifies everything.
    this.scans = 0;
  }

  /** Resolve the allowed roots themselves (a root may be a symlink, e.g. /var/log → /data/log). */
  async init(): Promise<void> {
    const resolved = await Promise.all(this.allowed.map((r) => fsp.realpath(r).catch(() => r)));
    this.allowed = [...new Set([...this.allowed, ...resolved])];
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
    for (const { input, globs } of this.inputs) {
      for (const g of globs) {
        for (const path of await walk(g.prefix, g.depth, g, onDirError, dirs)) {
          if (out.has(path) || this.excludes.some((x) => x.match(path))) continue;
          let c: Candidate | null;
          const memo = dirs.unchanged.has(dirname(path)) ? this.fileMemo.get(path) : undefined;
          if (memo === null || (memo !== undefined && memo.input === input)) {
            // Memos are stored marked `reused` (and never changed): handed out as they are.
            if (!fileMemo.has(path)) fileMemo.set(path, memo);
            c = memo;
          } else {
            const regular: { is?: boolean } = {};
            c = await this.classify(path, input, regular);
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
    const input = this.inputFor(path);
    return input ? this.classify(path, input) : null;
  }

  /** `regular.is` is set when the path itself is not a symlink: then its answer may be reused while its directory is unchanged. */
  private async classify(path: string, input: InputConfig, regular?: { is?: boolean }): Promise<Candidate | null> {
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
      if (!this.allowed.some((root) => isInside(realPath, root))) return this.refuse(path, 'outside_roots', { target: realPath });
      try {
        st = await fsp.stat(realPath);
      } catch {
        return null;
      }
    } else if (!this.allowed.some((root) => isInside(path, root))) {
      // A path under an allowed prefix can still resolve elsewhere through a symlinked directory.
      const rp = await fsp.realpath(path).catch(() => path);
      if (!this.allowed.some((root) => isInside(rp, root))) return this.refuse(path, 'outside_roots', { target: rp });
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
      this.watcher = watch([], { ignoreInitial: true, followSymlinks: false, depth, ignorePermissionErrors: true, persistent: false });
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
    for (const p of prefixes) this.watchDir(p.dir);
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
 * Paths below `dir`, at most `depth` directories down, that the glob matches. Symlinked dirs are
 * not entered. A directory that cannot be listed goes to `onError`, except when it does not exist
 * (ENOENT, ENOTDIR): a missing input directory is normal (no containers yet). A directory whose
 * mtime, ctime and inode match `dirs.prev` is not listed again: its last entries are reused.
 */
async function walk(dir: string, depth: number, g: CompiledGlob, onError: (dir: string, err: NodeJS.ErrnoException) => void, dirs: Listing): Promise<string[]> {
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
        st = statSync(d);
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
      if (e.dir && level < depth) await visit(p, level + 1);
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

/** Files in `dir` with this (dev, ino): where a rotated file went (`0.log.<ts>`, `x-json.log.1`). */
export async function findByInode(dir: string, dev: number, ino: number): Promise<string | null> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return null;
  }
  for (const n of names) {
    const p = join(dir, n);
    const st = await fsp.lstat(p).catch(() => null);
    if (st && st.isFile() && st.ino === ino && st.dev === dev) return p;
  }
  return null;
}
