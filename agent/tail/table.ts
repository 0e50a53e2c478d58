// The files being tailed, by identity (`dev:ino`) and by every path that names them, and the
// descriptor budget: at most `tail.max_open_files` held, the rest wait in line for one. A file is
// in `byKey` from tracking until it is forgotten; a path names at most one file, and a rotated or
// done file is named by none.
import { closeSync } from 'node:fs';
import { pathMeta } from '../parse/kubernetes.js';
import { tagFor } from '../parse/tag.js';
import type { Tail } from './context.js';
import type { Candidate } from './discovery.js';
import { TailedFile, type ResumePlan } from './file.js';
import { candidateKey } from './identity.js';

export class FileTable {
  private readonly byKey = new Map<string, TailedFile>();
  private readonly byPath = new Map<string, TailedFile>();
  private readonly waiting = new Set<TailedFile>();
  private openCount = 0;
  /** Descriptors reserved for opens under way (reserve() → hold() or unreserve()). */
  private reserved = 0;
  private loggedWaiting = false;

  constructor(private readonly t: Tail) {}

  get(key: string): TailedFile | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The file a path names now, if tracked. */
  at(path: string): TailedFile | undefined {
    return this.byPath.get(path);
  }

  /** Every tracked file, live (do not add or forget files while iterating: use list()). */
  files(): IterableIterator<TailedFile> {
    return this.byKey.values();
  }

  /** A copy of the tracked files, safe to iterate while files are forgotten. */
  list(): TailedFile[] {
    return [...this.byKey.values()];
  }

  /** Whether `f` is the file tracked under its key (not an older one forgotten or replaced). */
  holds(f: TailedFile): boolean {
    return this.byKey.get(f.key) === f;
  }

  /** Bytes not yet acked over every tracked file. */
  lag(): number {
    let n = 0;
    for (const f of this.byKey.values()) n += f.lag();
    return n;
  }

  /** Track a new file for a candidate, starting at `plan` (verified when it is opened). */
  create(c: Candidate, plan: ResumePlan): TailedFile {
    const { config, wall, mono, metrics } = this.t.env;
    const key = candidateKey(c);
    const f = new TailedFile(key, c.dev, c.ino, '', -1, c.path, c.realPath, c.input, fileMeta(c), config.tail.max_line_bytes, wall(), mono());
    f.size = c.size;
    f.birth = c.birth !== undefined && c.birth > 0 ? c.birth : null;
    f.resume = plan;
    f.committed = f.lineEnd = plan.offset;
    this.byKey.set(key, f);
    metrics.watchedFiles.set(this.byKey.size);
    return f;
  }

  name(path: string, f: TailedFile): void {
    this.byPath.set(path, f);
  }

  /** No path names `f` any more (rotated, deleted, forgotten). */
  unname(f: TailedFile): void {
    for (const [p, g] of this.byPath) if (g === f) this.byPath.delete(p);
  }

  /** Stop tracking `f`; false when another file holds its key by now. */
  remove(f: TailedFile): boolean {
    const held = this.holds(f);
    if (held) this.byKey.delete(f.key);
    this.unname(f);
    this.t.env.metrics.watchedFiles.set(this.byKey.size);
    return held;
  }

  // ---- descriptors ----------------------------------------------------------------------------

  /**
   * Room for one more descriptor for `f` (closing an idle one if need be), held for it until
   * hold() or unreserve(); else `f` waits in line. Opens under way count: files opened as they are
   * found open concurrently, and must not pass max_open_files together.
   */
  reserve(f: TailedFile): boolean {
    const { config, logger } = this.t.env;
    if (this.openCount + this.reserved >= config.tail.max_open_files && !this.freeSlot(f)) {
      f.markWaiting();
      this.setWaiting(f, true);
      if (!this.loggedWaiting) {
        this.loggedWaiting = true;
        logger.info({ max_open_files: config.tail.max_open_files }, 'tail.max_open_files reached; further files wait their turn');
      }
      return false;
    }
    this.setWaiting(f, false);
    this.reserved++;
    return true;
  }

  /** The open reserve() made room for came to nothing. */
  unreserve(): void {
    this.reserved--;
  }

  /** `f` was opened on `fd` (after reserve()). */
  hold(f: TailedFile, fd: number): void {
    f.fd = fd;
    this.reserved--;
    this.openCount++;
    this.t.env.metrics.openFiles.set(this.openCount);
  }

  setWaiting(f: TailedFile, on: boolean): void {
    if (on) this.waiting.add(f);
    else this.waiting.delete(f);
    this.t.env.metrics.waitingFiles.set(this.waiting.size);
  }

  hasWaiting(): boolean {
    return this.waiting.size > 0;
  }

  /** Descriptors are free again (housekeeping): every waiting file gets a turn. */
  wakeWaiting(): void {
    if (this.waiting.size === 0 || this.openCount + this.reserved >= this.t.env.config.tail.max_open_files) return;
    for (const f of this.waiting) this.t.scheduler.want(f);
  }

  /** Close the least recently active file that is at EOF to make room for `f`; false when none can go. */
  private freeSlot(f: TailedFile): boolean {
    let victim: TailedFile | null = null;
    for (const g of this.byKey.values()) {
      if (g === f || g.fd === null || g.busy || g.state !== 'active' || g.readPos < g.size || this.t.scheduler.queued(g)) continue;
      if (!victim || g.lastActivity < victim.lastActivity) victim = g;
    }
    if (!victim) return false;
    this.closeIdle(victim);
    return true;
  }

  closeIdle(f: TailedFile): void {
    this.closeFd(f);
    f.markIdle();
  }

  /** Release `f`'s descriptor; the first file waiting for one is woken. */
  closeFd(f: TailedFile): void {
    if (f.fd === null) return;
    try {
      closeSync(f.fd);
    } catch {
      // already closed: nothing to release
    }
    f.fd = null;
    this.openCount--;
    this.t.env.metrics.openFiles.set(this.openCount);
    if (this.waiting.size > 0) {
      const next = this.waiting.values().next().value as TailedFile;
      this.setWaiting(next, false);
      this.t.scheduler.want(next);
    }
  }

  /** At stop: every descriptor closed. */
  closeAll(): void {
    for (const f of this.byKey.values()) this.closeFd(f);
    this.t.env.metrics.openFiles.set(0);
    this.t.env.metrics.waitingFiles.set(0);
  }
}

/** A file's Kubernetes or Docker metadata and its tag, from where it was found and what it resolves to. */
function fileMeta(c: Candidate): TailedFile['meta'] {
  const meta = pathMeta(c.path, c.realPath);
  // A literal, not a spread: V8 gave each spread copy a hidden class of its own (one per file).
  return { k8s: meta.k8s, dockerId: meta.dockerId, tag: tagFor(meta, c.path) };
}
