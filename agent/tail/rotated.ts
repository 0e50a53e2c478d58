// The end of a file's life under its name: rotated (renamed, deleted, or shifted by the runtime)
// and drained from its descriptor, finished once it sat at EOF for ROTATED_SETTLE_MS, given up
// after `tail.rotated_keep_s` (monotonic) or beyond `tail.rotated_max_files` (its unread bytes
// counted lost), truncated in place (copytruncate: read again from 0), gone while closed, and
// forgotten. Deleted files still open are drained at stop: no restart can find them again.
import { fstat, fstatSync } from 'node:fs';
import { promisify } from 'node:util';
import type { LostReason, RotationKind } from '../health/labels.js';
import type { Tail } from './context.js';
import type { TailedFile } from './file.js';
import { EMPTY_FP } from './identity.js';
import { entryOf } from './ledger.js';
import { LossReporter } from './lost.js';

const fstatAsync = promisify(fstat);

/** How long reads must find a rotated file at EOF before it counts as finished (late writes by the runtime land in it). */
const ROTATED_SETTLE_MS = 1000;

export class Rotations {
  /** Files in state `rotated`, oldest first (for tail.rotated_max_files). */
  private readonly rotatedFiles = new Set<TailedFile>();
  readonly losses: LossReporter;

  constructor(private readonly t: Tail) {
    this.losses = new LossReporter(t.env.logger, t.env.metrics, t.env.mono);
  }

  /** Its path names another file now, or nothing: it was rotated or deleted. */
  rotated(f: TailedFile): void {
    if (f.unlinked) return;
    this.t.table.unname(f);
    if (f.fd === null) {
      void this.t.adopter.rescan();
      return;
    }
    fstat(f.fd, (err, st) => {
      const kind = !err && st.nlink === 0 ? 'deleted' : f.realPath.endsWith('-json.log') ? 'docker' : f.meta.k8s ? 'kubelet' : 'rename';
      if (!f.unlinked) this.markRotated(f, kind);
    });
  }

  /** A closed file found under another name in its directory: it was rotated while closed. */
  moved(f: TailedFile, found: string): void {
    f.realPath = found;
    this.t.table.unname(f);
    if (f.state !== 'rotated') this.markRotated(f, 'rename');
  }

  markRotated(f: TailedFile, kind: RotationKind): void {
    f.markRotated(this.t.env.mono());
    this.t.env.metrics.rotations.inc({ kind });
    this.t.env.logger.info({ path: f.path, real_path: f.realPath, kind, offset: f.readPos }, 'file rotated; draining it from its descriptor');
    // Oldest first: the set keeps the order files were marked in.
    this.rotatedFiles.delete(f);
    this.rotatedFiles.add(f);
    // The bound is on rotated files waiting for a descriptor: one held open is drained (those are
    // bounded by tail.max_open_files), so a file deleted while open is read whole, however many
    // were deleted with it.
    let over = this.rotatedFiles.size - this.t.env.config.tail.rotated_max_files;
    if (over > 0) {
      // giveUp() deletes from the set as it goes: a Set's iteration allows that.
      for (const g of this.rotatedFiles) {
        if (over <= 0) break;
        if (g.fd !== null || g.busy || g === f) continue;
        this.giveUp(g, 'rotated_max_files');
        over--;
      }
    }
    this.t.scheduler.want(f);
  }

  /** Rotated files marked so far: tail.rotated_max_files bounds them. */
  count(): number {
    return this.rotatedFiles.size;
  }

  /** Housekeeping for a rotated file not being read (`now` monotonic): give up, finish, or read on. */
  expire(f: TailedFile, now: number): void {
    const keepMs = this.t.env.config.tail.rotated_keep_s * 1000;
    if (now - f.rotatedAt! > keepMs) this.giveUp(f, 'rotated_keep_s');
    // Finished by what reads saw: at EOF at the start and at the end of the settle time, nothing
    // between. A file seen at EOF before reading was paused may have grown since, unread (a torn
    // last line completed, then rotated): time alone would ship its piece and cut the line in two.
    else if (f.eofSince !== null && f.readPos >= f.size && f.eofLast - f.eofSince >= Math.min(ROTATED_SETTLE_MS, keepMs)) this.finish(f);
    else if (f.openError === null) this.t.scheduler.again(f);
  }

  /** copytruncate: the file shrank below what was read. Reread from 0 (the old tail is in the copy). */
  truncated(f: TailedFile, size: number): void {
    const { metrics, logger } = this.t.env;
    metrics.truncations.inc();
    metrics.rotations.inc({ kind: 'copytruncate' });
    logger.info({ path: f.path, size, offset: f.readPos }, 'file truncated (copytruncate?); reading it again from the start');
    this.t.lines.flushPartials(f);
    this.t.siblings.rememberGeneration(f);
    f.restart();
    f.size = size;
    // Zero bytes fingerprinted: the entry stays in the checkpoint (offset 0) until the next read
    // fingerprints the new content.
    f.fp = EMPTY_FP.fp;
    f.fpLen = 0;
    this.t.ledger.markDirty();
  }

  /**
   * Stop draining a rotated file: what was not read is lost, counted and logged with the path.
   * Synchronous, so a file is given up once: thousands of rotations must not each give up the same
   * files again while an fstat is pending (that was half the CPU time with 5,000 files).
   */
  giveUp(f: TailedFile, reason: LostReason): void {
    if (f.state === 'done') return;
    let size = f.size;
    if (f.fd !== null) {
      try {
        size = Math.max(size, fstatSync(f.fd).size);
      } catch {
        // the descriptor is gone: the last size seen is all we know
      }
    }
    this.finish(f);
    this.losses.lost(reason, size - f.readPos, f.path, 'gave up a rotated file before it was drained', { real_path: f.realPath });
  }

  /** A rotated file is drained: ship its last unterminated line and pending partials, close it. */
  finish(f: TailedFile): void {
    if (f.state === 'done') return;
    this.t.lines.endCarry(f);
    this.t.lines.flushPartials(f);
    this.retire(f);
    f.settle(this.t.env.wall());
    if (f.inFlight === 0) this.forget(f, true);
  }

  /**
   * A closed file (idle, or found and never opened) is gone from its directory: what it held past
   * the offset read is lost (a file found and deleted before it was opened: all of it).
   */
  gone(f: TailedFile): void {
    // Once: a rescan and an open under way may both find it gone.
    if (f.state === 'done') return;
    const from = f.resume ? f.resume.offset : f.readPos;
    this.forget(f);
    this.losses.lost('deleted_unread', f.size - from, f.path, 'file deleted before it was read to its end', { real_path: f.realPath });
  }

  /** `drained`: it was read to its end (or given up), and its entry is kept while the file exists. */
  forget(f: TailedFile, drained = false): void {
    const { table, ledger } = this.t;
    if (drained && table.holds(f)) {
      const entry = entryOf(f, new Date(this.t.env.wall()).toISOString());
      if (entry) this.t.drained.remember(f.key, entry, Math.max(f.size, f.readPos), f.realDir);
    }
    this.retire(f);
    if (table.remove(f)) this.t.siblings.forgetGenerations(f.key);
    ledger.markDirty();
  }

  /**
   * At stop: files deleted while open (a docker shift renames `.1` over `.2`; kubelet gzips and
   * removes `0.log.<ts>`; a plain rm) live only in our descriptor, so a restart cannot recover them
   * from the checkpoint. Read them to EOF and finish them (their unterminated last line is final),
   * before `deadline` (monotonic); what cannot be read in time is given up, counted and logged.
   * Rotated files still linked are left as they are: the next start finds them by inode and
   * resumes from the checkpoint, so a late write by the runtime still joins their last line.
   */
  async drainDeleted(deadline: number): Promise<void> {
    for (const f of this.t.table.list()) {
      if ((f.state !== 'rotated' && f.state !== 'active') || f.fd === null) continue;
      const st = await fstatAsync(f.fd).catch(() => null);
      if (!st || st.nlink > 0) continue;
      // Deleted before a read at EOF or a rescan noticed it.
      if (f.state === 'active') {
        this.t.table.unname(f);
        this.markRotated(f, 'deleted');
      }
      f.size = Math.max(f.size, st.size);
      // EOF is confirmed by a read at stop time, not by an older one (the runtime may have written since).
      f.eofSince = null;
      await this.readToEnd(f, deadline);
      if (f.state !== 'rotated') continue;
      if (f.eofSince !== null && f.readPos >= f.size) this.finish(f);
      else this.giveUp(f, 'deleted_at_stop');
    }
  }

  private async readToEnd(f: TailedFile, deadline: number): Promise<void> {
    const { env, ledger, reader } = this.t;
    while (f.state === 'rotated' && f.eofSince === null && env.mono() < deadline) {
      if (!env.sender.writable()) {
        ledger.flush();
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      f.busy = true;
      try {
        await reader.step(f);
      } catch (err) {
        env.logger.warn({ path: f.path, real_path: f.realPath, err: String(err) }, 'read of a deleted file failed while stopping');
        return;
      } finally {
        f.busy = false;
      }
    }
  }

  /** Done: out of the rotated set, the read queue and the descriptor line; closed unless a read is on. */
  private retire(f: TailedFile): void {
    f.markDone();
    this.rotatedFiles.delete(f);
    this.t.scheduler.drop(f);
    this.t.table.setWaiting(f, false);
    if (!f.busy) this.t.table.closeFd(f);
  }
}
