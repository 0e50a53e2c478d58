// From paths to tracked files: what discovery finds (the initial scan, every rescan, inotify
// events) is adopted: a new file is tracked from its start plan, a known one is read when it grew,
// and a path that names another file now rotates the one it named. A rescan is the source of
// truth: a tracked file it no longer finds was rotated (found by its inode) or is gone.
import { promises as fsp, statSync } from 'node:fs';
import type { Tail } from './context.js';
import type { Candidate } from './discovery.js';
import type { ResumePlan, TailedFile } from './file.js';
import { candidateKey } from './identity.js';
import { reborn } from './open.js';
import { DirInodes } from './rotations.js';

export class Adopter {
  private scanning: Promise<void> | null = null;
  /**
   * Files with a change event since the last flush tick. They are read at the tick, not at the
   * event: lines read before it would leave no sooner than it, so one read per changed file per
   * tick costs no delay, where a read at the event (and another at the tick, of what came since)
   * cost two. A change arms the tick when none is armed: a line waits at most
   * `forward.flush_interval_ms` from its write to its send.
   */
  private readonly changed = new Set<TailedFile>();

  constructor(private readonly t: Tail) {}

  /** A candidate from discovery (`initial`: found by the first scan at start). */
  adopt(c: Candidate, initial: boolean): void {
    const { table, scheduler } = this.t;
    const known = table.get(candidateKey(c));
    const prev = table.at(c.path);
    if (prev && prev !== known) this.t.rotations.rotated(prev);
    if (!known) {
      this.track(c, this.t.plans.planFor(c, initial));
      return;
    }
    if (known.state === 'done') return;
    if (known.fd === null && !known.busy && reborn(known, c.birth ?? 0)) {
      this.replaced(known, c);
      return;
    }
    if (known.state === 'rotated') {
      if (known.openError !== null) scheduler.want(known);
      return;
    }
    if (known.fd === null && !known.busy && prev !== known) {
      this.regenerate(known, c);
      return;
    }
    table.name(c.path, known);
    // A reused classification's size is from an earlier scan: only a full rescan's says "grew".
    if (c.reused) {
      if (known.openError !== null) scheduler.want(known);
      return;
    }
    if (c.size > known.size) known.size = c.size;
    if (c.size !== known.readPos || known.openError !== null) scheduler.want(known);
    else if (known.fd === null && known.birth !== null) void this.checkBirth(known, c.realPath);
  }

  /** A path may have changed (an inotify event). */
  onPathEvent(ev: string, path: string): void {
    if (this.t.env.stopping) return;
    const f = this.t.table.at(path);
    if (ev === 'change' && f && f.state !== 'rotated') {
      this.changed.add(f);
      this.t.ledger.armTick();
      return;
    }
    void this.t.discovery.check(path).then((c) => {
      if (c && !this.t.env.stopping) this.adopt(c, false);
    });
    if (f) this.t.scheduler.want(f);
  }

  /** Walk the inputs again; rotated files that could not be opened are retried; unread siblings are read. */
  rescan(): Promise<void> {
    if (this.scanning || this.t.env.stopping) return this.scanning ?? Promise.resolve();
    this.scanning = (async () => {
      try {
        const seen = new Set<string>();
        const where = new DirInodes();
        for (const c of await this.t.discovery.scan()) {
          if (this.t.env.stopping) return;
          seen.add(candidateKey(c));
          this.adopt(c, false);
        }
        for (const f of this.t.table.list()) {
          // Rotated files that could not be opened are retried here, not on every housekeeping tick.
          if (f.state === 'rotated' && f.openError !== null) this.t.scheduler.want(f);
          if (!seen.has(f.key) && !f.unlinked) await this.missing(f, where);
        }
        if (!this.t.env.stopping) await this.t.siblings.read(where);
      } catch (err) {
        this.t.env.logger.warn({ err: String(err) }, 'rescan failed');
      } finally {
        this.scanning = null;
      }
    })();
    return this.scanning;
  }

  /** Resolves once the rescan running now (if any) has returned. */
  idle(): Promise<void> {
    return this.scanning ?? Promise.resolve();
  }

  /** A live file the rescan did not find at its path. */
  private async missing(f: TailedFile, where: DirInodes): Promise<void> {
    const { discovery } = this.t;
    // A directory that cannot be listed hides its files; that is not a rotation or a deletion.
    if (discovery.hidden(f.path) || discovery.hidden(f.realPath)) return;
    if (f.fd !== null) {
      this.t.rotations.rotated(f);
      return;
    }
    // Closed while idle, or never opened yet (adopted while reading was paused, e.g. while the
    // child was down): find where it went, or forget it. A file never opened still carries
    // its start plan (f.resume), which is verified against its fingerprint when it is opened.
    const found = await discovery.findByInode(f.realDir, f.dev, f.ino, where);
    // Not there, or its inode freed and taken by a file born since: it is gone.
    if (!found || reborn(f, statSync(found, { throwIfNoEntry: false })?.birthtimeMs ?? 0)) {
      this.t.rotations.gone(f);
      return;
    }
    f.realPath = found;
    this.t.table.unname(f);
    this.t.rotations.markRotated(f, 'rename');
  }

  private track(c: Candidate, plan: ResumePlan): void {
    const f = this.t.table.create(c, plan);
    this.t.table.name(c.path, f);
    if (c.realPath !== c.path) {
      this.t.table.name(c.realPath, f);
      this.t.discovery.watchTargetDir(c.realPath);
    }
    this.t.opener.openFound(f);
    this.t.scheduler.want(f);
  }

  /**
   * A closed file's inode holds a file born since (deleted while closed or before it was opened,
   * and its inode reused at once, as ext4 and tmpfs do): what the old one held past what was read
   * is lost, counted and logged with its path, and the new one is read from 0.
   */
  private replaced(known: TailedFile, c: Candidate): void {
    if (known.state === 'rotated') this.t.rotations.giveUp(known, 'replaced');
    else this.t.rotations.gone(known);
    this.track(c, { offset: 0 });
  }

  /**
   * A closed file's dev:ino turned up at a path that named another file or nothing: a rename while
   * it was closed, or its inode freed (deleted while closed) and reused by a new file (ext4 and
   * tmpfs reuse them at once: with 5,000 files deleted and re-created, most new files got an old
   * inode, and were taken for the old ones already read). It starts over as a file with a start
   * plan from where the old one stood, verified when it is opened (ensureOpen): the same content
   * resumes there, a new generation is read from 0.
   */
  private regenerate(known: TailedFile, c: Candidate): void {
    const plan: ResumePlan = known.resume ?? { offset: known.committed, fp: known.fp, fpLen: known.fpLen, tail: known.tailCommitted ?? undefined };
    this.t.rotations.forget(known);
    this.track(c, plan);
  }

  /**
   * A closed file at its size: deleted and re-created under its name with its inode reused (and as
   * many bytes) looks unchanged to a scan. Its birth time tells; a new one gets it reopened, and
   * ensureOpen reads the new generation from 0.
   */
  private async checkBirth(f: TailedFile, path: string): Promise<void> {
    const st = await fsp.stat(path).catch(() => null);
    if (st && st.ino === f.ino && st.dev === f.dev && reborn(f, st.birthtimeMs)) this.t.scheduler.want(f);
  }

  /** The flush tick: the files changed since their last read are read now; resolves once they were. */
  readChangedNow(): Promise<void> {
    if (!this.t.env.stopping) {
      // Directories whose watch rested report their files as changed first, to be read now too.
      this.t.discovery.wakeWatches();
      for (const f of this.changed) this.t.scheduler.want(f);
    }
    this.changed.clear();
    return this.t.scheduler.idle();
  }

  /** At stop: nothing is left to read at a tick. */
  close(): void {
    this.changed.clear();
  }
}
