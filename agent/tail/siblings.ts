// Rotated files warden did not see rotate: checkpointed files no longer at their path (rotated
// while warden was down), and rotated siblings of tailed files (`0.log.<ts>` beside `0.log`,
// `x-json.log.1` beside `x-json.log`) created, written and rotated between scans, which a
// `/var/log/containers` symlink hides. Each is read as a rotated file. Also the generations of
// files truncated in place (copytruncate), by which a copy is told from a new file.
import { closeSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { CheckpointEntry } from './checkpoint.js';
import type { Tail } from './context.js';
import type { ResumePlan, TailedFile } from './file.js';
import { fingerprintMatches, inodeKey } from './identity.js';
import { DirInodes, isRotationOf, type Listed } from './rotations.js';
import { sameStamp, trustedStamp, type DirStamp } from './walk.js';

/** A directory's stamp, or undefined when it cannot be stat'ed (then it is listed, and the listing says why). */
function stampOf(dir: string): DirStamp | undefined {
  try {
    return statSync(dir);
  } catch {
    return undefined;
  }
}

/** Truncated generations remembered per file (logrotate keeps a few copies: `rotate 4`). */
const COPIES_KEPT = 4;

export class Siblings {
  /**
   * Generations of a file truncated in place (copytruncate), by the file's `dev:ino`: what was read
   * of each. Their copy (`x.log.1`, a new inode) is a sibling holding lines already shipped.
   */
  private readonly copied = new Map<string, ResumePlan[]>();
  /**
   * Directories whose last listing held no unread sibling, with their stamp then (walk.ts: mtime,
   * ctime, inode; none for one changed too recently to trust). Between full scans such a directory
   * is listed again only once its stamp moved (an entry created, renamed or removed): with the Docker layout every file has a directory of its own, and listing 1,000 of
   * them every rescan was most of an idle warden's CPU. A sibling that only grows is found at the
   * next full scan, as discovery's reused listings are.
   */
  private quiet = new Map<string, DirStamp>();

  /**
   * Rotations left unread as history (StartPlans.beforeFirstStart): by directory, `dev:ino` and
   * the mtime they had. Dropped once gone from their directory, and a file at a reused inode with
   * another mtime is not one of them: it is read.
   */
  private readonly history = new Map<string, Map<string, number>>();

  private isHistory(dir: string, key: string, mtimeMs: number): boolean {
    return this.history.get(dir)?.get(key) === mtimeMs;
  }

  constructor(private readonly t: Tail) {}

  /** `f` is about to be read again from 0: remember what was read of the generation it had. */
  rememberGeneration(f: TailedFile): void {
    if (f.fpLen <= 0) return;
    const gens = this.copied.get(f.key) ?? [];
    gens.unshift({ offset: f.readPos, fp: f.fp, fpLen: f.fpLen });
    this.copied.set(f.key, gens.slice(0, COPIES_KEPT));
  }

  forgetGenerations(key: string): void {
    this.copied.delete(key);
  }

  /** At start: checkpointed files no longer at a matching path were rotated while warden was down. Drain them. */
  async recover(): Promise<void> {
    const where = new DirInodes();
    for (const [key, e] of this.t.plans.unclaimed()) {
      if (this.t.table.has(key)) continue;
      // A checkpoint is data, not authority: its paths are checked like discovered ones.
      const c = await this.t.discovery.recovered(e, where);
      if (!c) continue;
      const f = this.t.table.create(c, { offset: e.offset, fp: e.fp, fpLen: e.fp_len });
      this.t.rotations.markRotated(f, 'recovered');
    }
  }

  /**
   * Read rotated siblings that are neither tracked nor drained: from their checkpointed offset (a
   * restart) or from 0, oldest first (by mtime), no more than `tail.rotated_max_files` leave room
   * for: the rest at the next rescan.
   */
  async read(where: DirInodes): Promise<void> {
    const { table, env } = this.t;
    for (const { s, of } of await this.unread(where)) {
      if (env.stopping || this.t.rotations.count() >= env.config.tail.rotated_max_files) break;
      const key = inodeKey(s.dev, s.ino);
      if (table.has(key)) continue;
      const c = await this.t.discovery.sibling(s, of.path, of.input);
      if (!c || table.has(key)) continue;
      // A drained or checkpointed entry resumes where it stood once its fingerprint matches
      // (ensureOpen); a new generation under a reused inode is read from 0.
      const drained = this.t.drained.take(key);
      const saved = this.t.plans.take(key);
      const e = drained ?? saved;
      const plan = e ? { offset: e.offset, fp: e.fp, fpLen: e.fp_len } : await this.copyOf(s, of);
      if (table.has(key)) continue;
      if (!e && plan.offset === 0 && this.t.plans.beforeFirstStart(s.mtimeMs)) {
        const dir = dirname(s.path);
        const known = this.history.get(dir) ?? new Map<string, number>();
        this.history.set(dir, known.set(key, s.mtimeMs));
        continue;
      }
      const f = table.create(c, plan);
      this.t.rotations.markRotated(f, 'recovered');
    }
  }

  /**
   * At stop: copytruncate copies not picked up yet (their truncate noticed or not) get a checkpoint
   * entry at what was read of their generation, since what is known of truncated generations does
   * not outlive the process. Other unread siblings get none: the next start reads them.
   */
  async noteCopies(where: DirInodes): Promise<void> {
    for (const { s, of } of await this.unread(where, true)) {
      const key = inodeKey(s.dev, s.ino);
      if (this.t.drained.has(key)) continue;
      const plan = await this.copyOf(s, of);
      if (plan.fp === undefined) continue;
      const entry: CheckpointEntry = {
        dev: s.dev, ino: s.ino, fp: plan.fp, fp_len: plan.fpLen!, path: of.path, real_path: s.path, input: of.input.name,
        offset: plan.offset, updated: new Date(this.t.env.wall()).toISOString(),
      };
      this.t.drained.remember(key, entry, plan.offset, dirname(s.path));
    }
  }

  /**
   * Rotated siblings of the tailed files not tracked nor drained (each directory listed once),
   * oldest first. `everyDir`: list quiet directories too (at stop).
   */
  private async unread(where: DirInodes, everyDir = false): Promise<Array<{ s: Listed; of: TailedFile }>> {
    const skipQuiet = !everyDir && !this.t.discovery.lastScanFull;
    const quiet = new Map<string, DirStamp>();
    // A directory still quiet is passed over file by file, with nothing gathered for it: between
    // full scans that is most of them.
    const byDir = new Map<string, { st: DirStamp | undefined; files: TailedFile[] }>();
    for (const f of this.t.table.files()) {
      if (f.unlinked) continue;
      const dir = f.realDir;
      if (quiet.has(dir)) continue;
      const listed = byDir.get(dir);
      if (listed) {
        listed.files.push(f);
        continue;
      }
      const st = this.t.discovery.walked(dir) ?? stampOf(dir);
      const was = this.quiet.get(dir);
      if (skipQuiet && st && sameStamp(was, st)) quiet.set(dir, was);
      else byDir.set(dir, { st, files: [f] });
    }
    const found: Array<{ s: Listed; of: TailedFile }> = [];
    for (const [dir, { st, files }] of byDir) {
      const keys = new Set<string>();
      const before = found.length;
      for (const s of await this.t.discovery.listDir(dir, where)) {
        const key = inodeKey(s.dev, s.ino);
        keys.add(key);
        if (this.t.table.has(key) || this.isHistory(dir, key, s.mtimeMs) || this.t.drained.covers(key, s.size)) continue;
        const of = files.find((f) => isRotationOf(s.path, basename(f.realPath)));
        if (of) found.push({ s, of });
      }
      this.t.drained.prune(dir, keys);
      const known = this.history.get(dir);
      if (known) {
        for (const k of known.keys()) if (!keys.has(k)) known.delete(k);
        if (known.size === 0) this.history.delete(dir);
      }
      const stamp = found.length === before && st ? trustedStamp(st) : null;
      if (stamp) quiet.set(dir, stamp);
    }
    if (!everyDir) this.quiet = quiet;
    return found.sort((a, b) => a.s.mtimeMs - b.s.mtimeMs);
  }

  /**
   * A sibling never seen may be a copytruncate copy (a new inode holding what was read from the
   * file `of`, before or after the truncate was noticed): its first bytes match the live file's or
   * a truncated generation's, and it resumes at what was read of that. Anything else is read from 0.
   * Limit: a new file whose first KiB is the same as the live file's (a fixed banner) is taken for
   * a copy.
   */
  private async copyOf(s: Listed, of: TailedFile): Promise<ResumePlan> {
    const known: ResumePlan[] = [...(this.copied.get(of.key) ?? [])];
    if (of.fpLen > 0) known.unshift({ offset: of.readPos, fp: of.fp, fpLen: of.fpLen });
    if (known.length === 0) return { offset: 0 };
    const opened = await this.t.discovery.open(s.path, s.dev, s.ino);
    if (!('fd' in opened)) return { offset: 0 };
    try {
      for (const k of known) {
        if (k.fp !== undefined && (await fingerprintMatches(opened.fd, { fp: k.fp, fpLen: k.fpLen! }))) return { ...k, offset: Math.min(k.offset, opened.st.size) };
      }
      return { offset: 0 };
    } finally {
      closeSync(opened.fd);
    }
  }
}
