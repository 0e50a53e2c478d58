// Whether a path found by a walk, an event, a checkpoint or a sibling listing may be tailed: a
// regular file whose realpath, whole, lies inside the roots (see confine.ts). Refusals are counted
// in warden_refused_total{reason} and logged once per path and reason, not once per rescan; other
// failures (a symlink that cannot be resolved, a directory that cannot be listed) once per path
// and errno until they pass.
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { InputConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { RefuseReason } from '../health/labels.js';
import type { Metrics } from '../health/metrics.js';
import type { Roots } from './confine.js';
import type { Candidate } from './discovery.js';

export type { RefuseReason };

const REFUSE_MESSAGES: Record<RefuseReason, string> = {
  outside_roots: 'refusing a path that resolves outside tail.roots; never opened',
  not_regular: 'skipping a path that is not a regular file; never opened',
  symlink_loop: 'skipping a symlink loop (ELOOP: too many levels of symbolic links); never opened',
};

export class Classifier {
  private readonly refusedPaths = new Map<string, RefuseReason>();
  /** `path\0errno` of failures already warned about (directories and symlinks), once each until they pass. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    /** The roots as resolved now (they change on reconfigure). */
    private readonly roots: () => Roots,
  ) {}

  /**
   * A candidate, or null when `path` is not to be tailed (now). `realDir` is the realpath of the
   * path's directory when the caller knows it (a walk), else it is resolved here. `regular.is` is
   * set when the path itself is not a symlink: then its answer may be reused while its directory
   * is unchanged.
   */
  classify(path: string, input: InputConfig, realDir: string | null, regular?: { is?: boolean }): Candidate | null {
    let l: Stats | undefined;
    try {
      l = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return null; // EACCES on the directory, ENOTDIR: as good as absent for now
    }
    if (!l) return null;
    if (regular) regular.is = !l.isSymbolicLink();
    const target = l.isSymbolicLink() ? this.resolveLink(path) : this.resolveFile(path, realDir);
    if (!target) return null;
    const st = target.st ?? l;
    if (!st.isFile()) return this.refuse(path, 'not_regular', { type: fileType(st) });
    this.accepted(path);
    return { path, realPath: target.realPath, input, dev: st.dev, ino: st.ino, size: st.size, birth: st.birthtimeMs };
  }

  /** A symlink: its target, when it resolves inside the roots and can be stat'ed (synchronously, as the walk's lstats). */
  private resolveLink(path: string): { realPath: string; st: Stats } | null {
    let realPath: string;
    try {
      realPath = realpathSync.native(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      // Dangling (ENOENT, ENOTDIR): the target may appear later; that is normal, and quiet.
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      if (code === 'ELOOP') return this.refuse(path, 'symlink_loop', { code });
      this.warnOnce(path, code, { path, code, err: String(err) }, 'cannot resolve a symlink; skipped, tried again on the next rescan');
      return null;
    }
    if (!this.roots().contains(realPath)) return this.refuse(path, 'outside_roots', { target: realPath });
    try {
      return { realPath, st: statSync(realPath) };
    } catch {
      return null;
    }
  }

  /** Not a symlink: it is its own real path, when its directory resolves inside the roots. */
  private resolveFile(path: string, realDir: string | null): { realPath: string; st?: undefined } | null {
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
    if (!this.roots().contains(real)) return this.refuse(path, 'outside_roots', { target: real });
    return { realPath: path };
  }

  /** Counted and logged once per path and reason, not once per rescan. */
  refuse(path: string, reason: RefuseReason, extra: Record<string, unknown>): null {
    if (this.refusedPaths.get(path) !== reason) {
      this.refusedPaths.set(path, reason);
      this.metrics.refused.inc({ reason });
      this.logger.warn({ path, reason, ...extra }, REFUSE_MESSAGES[reason]);
    }
    return null;
  }

  /** `path` passed: a later refusal of it is counted and logged again. */
  accepted(path: string): void {
    this.refusedPaths.delete(path);
  }

  warnOnce(path: string, code: string, fields: Record<string, unknown>, msg: string): void {
    const key = `${path}\0${code}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(fields, msg);
  }

  /** The failure `code` at `path` passed: warned about again if it comes back. */
  passed(path: string, code: string): void {
    this.warned.delete(`${path}\0${code}`);
  }
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'other';
}
