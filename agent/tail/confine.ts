// Confinement: nothing outside the roots is ever read. A path is only a name: any directory on
// it can be swapped for a symlink between the check and the open (`mv pods/x pods/x.old; ln -s
// /etc pods/x`), and lstat or O_NOFOLLOW guard the last component only. So the roots are resolved
// once (at start and on reload) and every check is on a resolved path: a classification checks
// the realpath of the whole path, and after every open the descriptor itself is checked, by what
// the kernel says it opened (`/proc/self/fd/N`) and by its (dev, ino). Every open of a log file
// goes through `openConfined`; every directory listed for a rotated file is resolved first.
import { closeSync, constants as fsc, fstat, open, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { isInside } from './glob.js';
import { DirInodes } from './rotations.js';

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);

/**
 * The directories everything read must lie in, kept as resolved through symlinks. A root is
 * resolved once, when it first appears: a reload that keeps it keeps its resolution, so a root
 * missing at start and created later as a symlink out allows nothing more than it did. A root
 * that resolves to `/` allows nothing (the config check refuses it; this holds if it changed since).
 */
export class Roots {
  private readonly resolvedBy = new Map<string, string>();
  private resolved: string[] = [];

  constructor(
    private readonly configured: readonly string[],
    private readonly previous?: Roots,
  ) {}

  /** Resolve every root (a root may be a symlink itself, e.g. /var/log → /data/log); returns those that resolve to `/`, allowed nothing. */
  async resolve(): Promise<string[]> {
    const whole: string[] = [];
    for (const root of this.configured) {
      const real = this.previous?.resolvedBy.get(root) ?? resolveRoot(root);
      this.resolvedBy.set(root, real);
      if (real === '/') whole.push(root);
    }
    this.resolved = [...new Set(this.resolvedBy.values())].filter((r) => r !== '/');
    return whole;
  }

  /** True when a resolved path lies in a resolved root. */
  contains(realPath: string): boolean {
    return this.resolved.some((root) => isInside(realPath, root));
  }

  /** A directory's realpath and whether it lies inside the roots; null when it cannot be resolved (missing). */
  resolveDir(dir: string): { real: string; inside: boolean } | null {
    let real: string;
    try {
      real = realpathSync.native(dir);
    } catch {
      return null;
    }
    return { real, inside: this.contains(real) };
  }
}

/**
 * A root's realpath. A root that does not exist yet (no containers on this node so far) resolves
 * through its deepest existing ancestor with the rest kept as written: if it is later created as a
 * real directory that is its path, and if it is created as a symlink, what it points to is not
 * allowed by this root. Synchronous: a handful of roots, resolved at start and on reload, and the
 * config check resolves them the same way.
 */
export function resolveRoot(root: string): string {
  const missing: string[] = [];
  let p = root;
  for (;;) {
    try {
      return join(realpathSync.native(p), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || p === '/') return root;
      missing.push(basename(p));
      p = dirname(p);
    }
  }
}

/** What an open of a log file came to. */
export type Opened =
  /** The file classified, inside the roots. */
  | { fd: number; st: Stats }
  /** Nothing or another file at the path: ENOENT, ENOTDIR, ELOOP (O_NOFOLLOW met a symlink swapped in), `replaced`. */
  | { gone: string }
  /** What may pass: EACCES, EPERM, EMFILE, EIO. */
  | { error: NodeJS.ErrnoException }
  /** What was opened resolves outside the roots (a directory on the path was swapped): closed unread. */
  | { refused: 'outside_roots'; target: string };

/**
 * Open `path` read-only and check what was opened: the descriptor must resolve inside `roots`
 * and be the regular file (dev, ino) that was classified. O_NONBLOCK: a FIFO swapped in after the
 * check must not block the open. Nothing is read before both checks passed.
 */
export async function openConfined(path: string, dev: number, ino: number, roots: Roots): Promise<Opened> {
  let fd: number;
  try {
    fd = await openAsync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return { gone: code };
    return { error: err as NodeJS.ErrnoException };
  }
  let target: string;
  try {
    target = openedPath(fd);
  } catch (err) {
    // No /proc: what was opened cannot be told, so it is not read (warden needs /proc anyway).
    closeSync(fd);
    return { error: err as NodeJS.ErrnoException };
  }
  if (!roots.contains(target)) {
    closeSync(fd);
    return { refused: 'outside_roots', target };
  }
  const st = await fstatAsync(fd).catch(() => null);
  if (!st || !st.isFile() || st.dev !== dev || st.ino !== ino) {
    closeSync(fd);
    return { gone: 'replaced' };
  }
  return { fd, st };
}

const DELETED = ' (deleted)';

/**
 * Where the kernel says descriptor `fd` points (a magic link: readlink walks no path warden could
 * be raced on). A file unlinked since the open keeps its last path, marked ` (deleted)`.
 */
export function openedPath(fd: number): string {
  const p = readlinkSync(`/proc/self/fd/${fd}`);
  return p.endsWith(DELETED) ? p.slice(0, -DELETED.length) : p;
}

/**
 * The file in `dir` with this (dev, ino): where a rotated file went (`0.log.<ts>`,
 * `x-json.log.1`), or null. `dir` is listed only when it resolves inside `roots` (else `outside`
 * says where it resolves): a checkpoint or a stale path must not make warden list, and lstat every
 * entry of, a directory outside.
 */
export async function findByInode(dir: string, dev: number, ino: number, roots: Roots, listed: DirInodes = new DirInodes()): Promise<{ path: string | null; outside?: string }> {
  const where = roots.resolveDir(dir);
  if (!where) return { path: null };
  if (!where.inside) return { path: null, outside: where.real };
  return { path: await listed.find(dir, dev, ino) };
}
