// The walk of one glob's fixed prefix: the paths below it that the glob matches, entering real
// directories only. A directory unchanged since the last scan (same mtime, ctime and inode) is not
// listed again: its entries are reused (see FULL_SCAN_EVERY in discovery.ts for what that misses).
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { CompiledGlob } from './glob.js';

/** A directory as last listed: reused while its mtime, ctime and inode stay the same. */
interface DirMemo {
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Each entry with its full path, joined once while the directory stays unchanged. */
  entries: Array<{ name: string; path: string; dir: boolean }>;
}

/**
 * A directory changed this recently may change again within the same mtime tick (the kernel's
 * coarse clock), invisibly to a later stat: it is listed again next time ("racy" entries, as git
 * treats its index).
 */
const RACY_MS = 2000;

export interface Listing {
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
export async function walk(
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
