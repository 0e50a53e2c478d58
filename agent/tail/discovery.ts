// Which files to tail: every input's globs minus `tail.exclude`, found by a walk of each glob's
// fixed prefix (the rescan, a readdir + stat per file) and hinted by inotify events in between.
// inotify events get lost under load and watches run out (ENOSPC/EMFILE), so the rescan is the
// source of truth and events only shorten the wait; when watching fails, the rescan carries on alone.
//
// Safety (see confine.ts): the roots are `tail.roots` plus the fixed prefix of every glob not
// already inside one, resolved through symlinks. A path is tailed only when its realpath, whole,
// lies inside them: a walk starts only at a prefix that resolves inside and never enters a symlink
// or an excluded directory; a path from an event (which may run through a directory swapped for a
// symlink since) is resolved again. FIFOs, sockets, devices and directories are never opened
// (opening a FIFO for reading blocks). What is opened is checked again on its descriptor.
// The walk is walk.ts, the verdict on one path classify.ts, the watching watch.ts.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config, InputConfig } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../health/metrics.js';
import type { CheckpointEntry } from './checkpoint.js';
import { Classifier } from './classify.js';
import { findByInode, openConfined, Roots, type Opened } from './confine.js';
import { compileGlob, isInside, type CompiledGlob } from './glob.js';
import type { DirInodes, Listed } from './rotations.js';
import { walk, type DirMemo, type Listing } from './walk.js';
import { inodeKey } from './identity.js';
import { PathWatcher } from './watch.js';

export interface Candidate {
  /** The path as found (may be a symlink). */
  path: string;
  /** The resolved regular file. */
  realPath: string;
  input: InputConfig;
  dev: number;
  ino: number;
  size: number;
  /** Its birth time as found (ms; 0 where the file system has none): tells a re-created file at a reused inode. */
  birth?: number;
  /**
   * Reused from an earlier scan because its directory did not change: identity and type still
   * hold, but `size` is the size then, not now (growth is for events and the per-file re-check).
   */
  reused?: boolean;
  /** Its `dev:ino` key, worked out once for a reused candidate (identity.ts, candidateKey). */
  key?: string;
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

interface InputGlobs {
  input: InputConfig;
  globs: CompiledGlob[];
}

export type { RefuseReason } from './classify.js';

export class Discovery {
  private inputs: InputGlobs[] = [];
  private excludes: CompiledGlob[] = [];
  private roots = new Roots([]);
  /** The roots being resolved after configure(); scans and checks wait for it. */
  private resolving: Promise<void> = Promise.resolve();
  private readonly watcher: PathWatcher;
  private readonly classifier: Classifier;
  /** Directories the last scan could not list (EACCES, EIO…), by errno: their files are hidden, not gone. */
  private unlistable = new Map<string, string>();
  private dirMemo: Listing['next'] = new Map();
  /** Classification of regular (non-symlink) paths at the last scan; a symlink's target can change unseen. */
  private fileMemo = new Map<string, Candidate | null>();
  private scans = 0;
  /** Whether the latest scan listed every directory again (see FULL_SCAN_EVERY). */
  lastScanFull = true;

  constructor(
    config: Config,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.classifier = new Classifier(logger, metrics, () => this.roots);
    this.watcher = new PathWatcher(logger, (p) => this.excluded(p), (dir) => this.roots.resolveDir(dir)?.inside === true);
    this.configure(config);
  }

  configure(config: Config): void {
    this.inputs = config.inputs.map((input) => ({ input, globs: input.paths.map(compileGlob) }));
    this.excludes = config.tail.exclude.map(compileGlob);
    // A prefix inside a root adds nothing, and must not: if it is a symlink out, its target is not allowed.
    const roots = config.tail.roots;
    const own = this.inputs.flatMap((i) => i.globs.map((g) => g.prefix)).filter((p) => !roots.some((r) => isInside(p, r)));
    const next = new Roots([...roots, ...own], this.roots);
    this.resolving = next.resolve().then((whole) => {
      for (const root of whole) this.logger.error({ root }, 'a root resolves to / (the whole file system); it allows nothing');
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
      this.classifier.warnOnce(dir, code, { dir, code, err: String(err) }, 'cannot list an input directory; its files are not tailed until it can be read (missing CAP_DAC_READ_SEARCH?)');
    };
    const full = this.scans++ % FULL_SCAN_EVERY === 0;
    this.lastScanFull = full;
    const dirs: Listing = { prev: this.dirMemo, full, next: new Map() };
    const fileMemo = new Map<string, Candidate | null>();
    const excluded = (p: string) => this.excluded(p);
    const onLink = (p: string) => {
      if (excluded(p)) return;
      const where = this.roots.resolveDir(p);
      if (where && !where.inside && statSync(p, { throwIfNoEntry: false })?.isDirectory()) this.classifier.refuse(p, 'outside_roots', { target: where.real });
    };
    const regular: { is?: boolean } = {};
    for (const { input, globs } of this.inputs) {
      for (const g of globs) {
        const realPrefix = this.walkable(g.prefix);
        if (realPrefix === null) continue;
        const onMatch = (path: string, dir: string, unchanged: boolean) => {
          if (out.has(path) || excluded(path)) return;
          let c: Candidate | null;
          const memo = unchanged ? this.fileMemo.get(path) : undefined;
          if (memo === null || (memo !== undefined && memo.input === input)) {
            // Memos are stored marked `reused` (and never changed): handed out as they are.
            if (!fileMemo.has(path)) fileMemo.set(path, memo);
            c = memo;
          } else {
            regular.is = false;
            // The walk entered real directories only, from a prefix resolved just now: the file's
            // directory resolves to the prefix's realpath plus the rest of its path.
            c = this.classifier.classify(path, input, realPrefix + dir.slice(g.prefix.length), regular);
            if (regular.is && !fileMemo.has(path)) fileMemo.set(path, c && reusedCandidate(c));
          }
          if (c) out.set(path, c);
        };
        walk(g.prefix, g.depth, g, excluded, onDirError, dirs, onMatch, onLink, realPrefix === g.prefix);
      }
    }
    this.dirMemo = dirs.next;
    this.fileMemo = fileMemo;
    for (const [dir, code] of this.unlistable) {
      if (unlistable.get(dir) === code) continue;
      this.classifier.passed(dir, code);
      if (!unlistable.has(dir)) this.logger.info({ dir, was: code }, 'input directory can be listed again');
    }
    this.unlistable = unlistable;
    this.watcher.retry();
    return [...out.values()];
  }

  private excluded(path: string): boolean {
    // A loop, not `some`: it runs for every path of every rescan, and a closure each was garbage.
    for (const x of this.excludes) if (x.match(path)) return true;
    return false;
  }

  /**
   * A glob's prefix resolved, when it lies inside the roots: it is where a walk starts. A prefix
   * swapped for a symlink out is refused (never walked), one that does not exist yet is skipped.
   */
  private walkable(prefix: string): string | null {
    const where = this.roots.resolveDir(prefix);
    if (!where) return null;
    if (!where.inside) return this.classifier.refuse(prefix, 'outside_roots', { target: where.real });
    this.classifier.accepted(prefix);
    return where.real;
  }

  /**
   * The latest scan's memo of `dir` (its stamp and entries), when its walk entered `dir` as its own
   * realpath (from a prefix inside the roots, through real directories only) and the stamp could
   * be trusted (walk.ts, RACY_MS); undefined otherwise. With the Docker layout every file's
   * directory is walked, and the siblings' pass that follows each scan stat'ed, resolved and read
   * it again.
   */
  walked(dir: string): DirMemo | undefined {
    const m = this.dirMemo.get(dir);
    return m?.real ? m : undefined;
  }

  /** True when `path` lies in a directory the last scan could not list: not seeing it says nothing. */
  hidden(path: string): boolean {
    for (const dir of this.unlistable.keys()) if (isInside(path, dir)) return true;
    return false;
  }

  /** Classify one path (after an event): a candidate, or null when not to be tailed. */
  async check(path: string): Promise<Candidate | null> {
    await this.resolving;
    const input = this.inputFor(path);
    return input ? this.classifier.classify(path, input, null) : null;
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
    const c = this.classifier.classify(found, input, null);
    if (!c || c.dev !== e.dev || c.ino !== e.ino) return null;
    return { ...c, path: e.path };
  }

  /** The file with (dev, ino) in `dir`, listed only when `dir` resolves inside the roots (a refusal otherwise). */
  async findByInode(dir: string, dev: number, ino: number, listed?: DirInodes): Promise<string | null> {
    const r = await findByInode(dir, dev, ino, this.roots, listed);
    if (r.outside !== undefined) this.classifier.refuse(dir, 'outside_roots', { target: r.outside });
    return r.path;
  }

  /**
   * The regular files of `dir` (each directory once per `listed`), listed only when `dir`
   * resolves inside the roots: a refusal otherwise, and nothing listed. A directory the latest
   * scan entered as its own realpath (walked) is not resolved again, only checked against the
   * roots as they are now, and its entries are the walk's, not a second readdir.
   */
  async listDir(dir: string, listed: DirInodes): Promise<Listed[]> {
    const walked = this.walked(dir);
    const known = walked !== undefined && this.roots.contains(dir);
    if (!known) {
      const where = this.roots.resolveDir(dir);
      if (!where) return [];
      if (!where.inside) {
        this.classifier.refuse(dir, 'outside_roots', { target: where.real });
        return [];
      }
    }
    return [...(await listed.list(dir, known ? walked.entries : undefined)).values()];
  }

  /**
   * A rotated sibling of a tailed file (`0.log.<ts>` beside `0.log`), read for the input of the
   * file it was rotated from and shown under that file's `path`: classified like a discovered
   * file (roots, regular), and only while it is still (dev, ino).
   */
  async sibling(found: Listed, path: string, input: InputConfig): Promise<Candidate | null> {
    // tail.exclude holds for a rotation as for any file: by its own path, and by the name it is tailed under.
    if (this.excluded(found.path) || this.excluded(path)) return null;
    const c = this.classifier.classify(found.path, input, null);
    if (!c || c.dev !== found.dev || c.ino !== found.ino) return null;
    return { ...c, path };
  }

  /**
   * Open a classified file (see confine.ts): the descriptor must resolve inside the roots and be
   * (dev, ino). A refusal is counted and logged here, once per path.
   */
  async open(path: string, dev: number, ino: number): Promise<Opened> {
    const opened = await openConfined(path, dev, ino, this.roots);
    if ('refused' in opened) this.classifier.refuse(path, opened.refused, { target: opened.target, at: 'open' });
    return opened;
  }

  /**
   * Watch every prefix down to its depth; `onPath` gets paths that may have changed. A busy
   * directory's watch rests between flush ticks (wakeWatches), at most `restMs`.
   */
  startWatching(onPath: (event: string, path: string) => void, restMs?: number): void {
    this.watcher.start(this.prefixes(), onPath, { restMs, onRest: () => this.metrics.watchRests.inc() });
  }

  /** The flush tick: resting watches are made again, and what they missed is reported. */
  wakeWatches(): void {
    this.watcher.wake();
  }

  /** Also watch the directory of a symlink's target, so growth behind /var/log/containers links is seen. */
  watchTargetDir(realPath: string): void {
    this.watcher.watchDir(dirname(realPath));
  }

  watching(): boolean {
    return this.watcher.watching();
  }

  close(): Promise<void> {
    return this.watcher.close();
  }
}

/** `c` marked reused, as a literal: V8 gave each spread copy a hidden class of its own (one per file). */
function reusedCandidate(c: Candidate): Candidate {
  return { path: c.path, realPath: c.realPath, input: c.input, dev: c.dev, ino: c.ino, size: c.size, birth: c.birth, reused: true, key: inodeKey(c.dev, c.ino) };
}
