// Where rotated files went: one listing of a directory answers every "where is dev:ino now?" of
// a rescan. Asking findByInode per file listed and lstat'ed the whole directory once per file:
// with 5,000 files deleted at once, 25 million lstats per rescan.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { inodeKey } from './identity.js';
import type { WalkedEntry } from './walk.js';

/** A regular file of a listed directory. */
export interface Listed {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * The regular files of `dir` (lstat: a symlink is not the file it names), by `dev:ino`. Listed
 * synchronously, as discovery's walk is: a directory's entries are in the kernel's caches, and a
 * trip through the threadpool per entry cost more than the lstat. `entries`: the directory's
 * entries as a walk of this scan listed them (its stamp unchanged since), instead of a readdir.
 */
export async function inodesIn(dir: string, entries?: readonly WalkedEntry[]): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>();
  let paths: string[];
  try {
    paths = entries ? entries.filter((e) => !e.dir).map((e) => e.path) : readdirSync(dir).map((n) => join(dir, n));
  } catch {
    return out;
  }
  for (const p of paths) {
    let st: Stats | undefined;
    try {
      st = lstatSync(p, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st && st.isFile()) out.set(inodeKey(st.dev, st.ino), { path: p, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out;
}

/** findByInode over many files of the same directories: each directory is listed once (per instance). */
export class DirInodes {
  private readonly dirs = new Map<string, Promise<Map<string, Listed>>>();

  find(dir: string, dev: number, ino: number): Promise<string | null> {
    return this.list(dir).then((x) => x.get(inodeKey(dev, ino))?.path ?? null);
  }

  /** `entries`: as a walk of this scan listed `dir` (see inodesIn). */
  list(dir: string, entries?: readonly WalkedEntry[]): Promise<Map<string, Listed>> {
    let m = this.dirs.get(dir);
    if (!m) this.dirs.set(dir, (m = inodesIn(dir, entries)));
    return m;
  }
}

/** Compressed rotations are not text to tail (logrotate `compress`, kubelet's `.gz`). */
const COMPRESSED = /\.(gz|tgz|z|bz2|xz|lz4|zst|zstd|zip|lzma|lz|br|sz)$/i;

/** What rotation appends: a number or a time (`1`, `20261201-101010`, `1733047810123-4`). */
const ROTATION_SUFFIX = /^\d[\d._:TZ+-]*$/;

/**
 * Whether `path` is a rotation of the file named `name`: `<name>.<number or time>` (kubelet
 * `0.log.20261201-101010`, Docker `x-json.log.1`, logrotate `x.log.1`), not compressed. Another
 * file that merely starts with the name (`app.log.notes`, `app.log.bak`) is no rotation.
 */
export function isRotationOf(path: string, name: string): boolean {
  const n = basename(path);
  return n.length > name.length + 1 && n.startsWith(name) && n[name.length] === '.' && ROTATION_SUFFIX.test(n.slice(name.length + 1)) && !COMPRESSED.test(n);
}
