// The walk of one glob's fixed prefix: the paths below it that the glob matches, entering real
// directories only. A directory unchanged since the last scan (same mtime, ctime and inode) is not
// listed again: its entries are reused (see FULL_SCAN_EVERY in discovery.ts for what that misses).
import { lstatSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { CompiledGlob } from './glob.js';

/** What tells a directory unchanged: the same mtime, ctime and inode. */
export interface DirStamp {
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** An entry of a listed directory, with its full path (joined once while the directory stays unchanged). */
export interface WalkedEntry {
  name: string;
  path: string;
  dir: boolean;
}

/** A directory as last listed: reused while its stamp stays the same. */
export interface DirMemo extends DirStamp {
  entries: WalkedEntry[];
  /**
   * Entered by a walk from a prefix that was its own realpath, through real directories only: the
   * path is the directory's realpath as of this scan, and it lies inside the prefix.
   */
  real: boolean;
}

/**
 * A directory changed this recently may change again within the same mtime tick (the kernel's
 * coarse clock), invisibly to a later stat: it is listed again next time ("racy" entries, as git
 * treats its index).
 */
const RACY_MS = 2000;

/** The stamp of a directory stat'ed before it was listed, or null when it changed too recently to be trusted (RACY_MS). */
export function trustedStamp(st: DirStamp, now = Date.now()): DirStamp | null {
  return now - st.mtimeMs > RACY_MS ? { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino } : null;
}

export function sameStamp(a: DirStamp | undefined, b: DirStamp): a is DirStamp {
  return a !== undefined && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** Whether `listed` names the same entries, of the same kinds, in the same order, as `entries`. */
function sameListing(entries: WalkedEntry[], listed: Dirent[]): boolean {
  if (entries.length !== listed.length) return false;
  for (let i = 0; i < listed.length; i++) {
    const e = entries[i]!;
    const l = listed[i]!;
    if (e.name !== l.name || e.dir !== l.isDirectory()) return false;
  }
  return true;
}

export interface Listing {
  /** Directories as listed at the last scan. */
  prev: Map<string, DirMemo>;
  /**
   * A full scan: every directory is listed again, whatever its stamp. A listing the same as the
   * last (names and kinds, in order) keeps the last one's entries, paths and all.
   */
  full: boolean;
  /** Directories as seen by this scan, for the next one. */
  next: Map<string, DirMemo>;
}

/**
 * A path the glob matches, with the directory it was listed in, and whether this scan did not
 * list that directory again (its files' last classification still holds).
 */
export type OnMatch = (path: string, dir: string, unchanged: boolean) => void;

/**
 * Paths below `dir`, at most `depth` directories down, that the glob matches, each to `onMatch`
 * as it is found (no list of them is built: a rescan walks every file). Symlinked and
 * excluded directories are not entered; below `dir` a directory is lstat'ed, so one swapped for a
 * symlink since its parent was listed is not entered either. A directory that cannot be listed
 * goes to `onError`, except when it does not exist (ENOENT, ENOTDIR): a missing input directory is
 * normal (no containers yet). Except on a full scan, a directory whose mtime, ctime and inode match
 * `dirs.prev` is not listed again: its last entries are reused. A symlink met where the walk could go down (one
 * swapped in for a directory) is not entered either, but it goes to `onLink` when it is listed,
 * so that one pointing out of the roots is said and counted, not skipped in silence. `real`: `dir`
 * is its own realpath, resolved just now (so every directory entered is too; see DirMemo.real).
 */
export function walk(
  dir: string,
  depth: number,
  g: CompiledGlob,
  excluded: (path: string) => boolean,
  onError: (dir: string, err: NodeJS.ErrnoException) => void,
  dirs: Listing,
  onMatch: OnMatch,
  onLink: (path: string) => void = () => {},
  real = false,
): void {
  // Synchronous throughout, the recursion too: every read in it is, and an async frame per
  // directory was most of what an idle rescan allocated.
  const visit = (d: string, level: number) => {
    let entries: DirMemo['entries'];
    const again = dirs.next.get(d);
    const memo = dirs.prev.get(d);
    if (again) {
      // A second glob over the same directory in this scan: unchanged when this scan found it so
      // (the stamp it recorded is the last scan's).
      visitEntries(d, again.entries, level, !dirs.full && sameStamp(memo, again));
      return;
    }
    let st: Stats;
    let unchanged = false;
    try {
      // Stat before readdir: an entry added in between moves the mtime past the one recorded.
      // Synchronous on purpose (here, for readdir, and for the lstat in classify): these are
      // dentry-cache hits, and a thread-pool round trip each (two thread switches and a loop
      // wake-up) was most of an idle rescan's CPU.
      st = level === 0 ? statSync(d) : lstatSync(d);
      if (!st.isDirectory()) return;
      if (!dirs.full && sameStamp(memo, st)) {
        unchanged = true;
        entries = memo.entries;
        // Its stamp was trusted when recorded and is older now: the memo serves again as it is.
        dirs.next.set(d, memo.real === real ? memo : { mtimeMs: memo.mtimeMs, ctimeMs: memo.ctimeMs, ino: memo.ino, entries, real });
      } else {
        const listed = readdirSync(d, { withFileTypes: true });
        entries = memo && sameListing(memo.entries, listed) ? memo.entries : listed.map((e) => ({ name: e.name, path: join(d, e.name), dir: e.isDirectory() }));
        if (level < depth) for (const e of listed) if (e.isSymbolicLink() && !g.match(join(d, e.name))) onLink(join(d, e.name));
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') onError(d, err as NodeJS.ErrnoException);
      return;
    }
    if (!unchanged) {
      const stamp = trustedStamp(st);
      // A literal, not a spread: V8 gave each spread copy a hidden class of its own (one per directory).
      if (stamp) dirs.next.set(d, { mtimeMs: stamp.mtimeMs, ctimeMs: stamp.ctimeMs, ino: stamp.ino, entries, real });
    }
    visitEntries(d, entries, level, unchanged);
  };
  const visitEntries = (d: string, entries: WalkedEntry[], level: number, unchanged: boolean) => {
    for (const e of entries) {
      const p = e.path;
      if (g.match(p)) onMatch(p, d, unchanged);
      if (e.dir && level < depth && !excluded(p)) visit(p, level + 1);
    }
  };
  visit(dir, 0);
}
