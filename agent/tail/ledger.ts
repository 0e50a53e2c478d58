// What was sent and what was acked. Lines go into per-tag batches (Batcher) that carry the file
// segments they end; a batch leaves when full, over the open-bytes budget, at the flush tick, or
// at flush() (stop). At the tick, the files changed since the last one are read first (a change
// event arms the tick and reads nothing itself), then every open batch leaves at once. An ack settles its segments, and a file's checkpoint offset moves only over
// its acked head, in file order. The checkpoint entries are built here and written when dirty, at
// most every `tail.checkpoint_interval_ms` (monotonic), and once more at stop.
import type { EntryBuffer } from '../forward/protocol.js';
import { Batcher, type Batch } from './batch.js';
import type { CheckpointEntry } from './checkpoint.js';
import type { Tail } from './context.js';
import type { Segment, TailedFile } from './file.js';
import { EMPTY_FP, type TailMark } from './identity.js';

export class AckLedger {
  private readonly batcher: Batcher;
  private readonly inflight = new Set<Promise<void>>();
  private dirty = false;
  private lastWrite = -Infinity;

  constructor(private readonly t: Tail) {
    const fwd = t.env.config.forward;
    this.batcher = new Batcher(fwd.batch_max_records, fwd.batch_max_bytes, fwd.flush_interval_ms, () => void this.tick());
  }

  /** Smaller batches while shedding memory; the configured ones otherwise. */
  setShedding(on: boolean): void {
    const fwd = this.t.env.config.forward;
    if (on) this.batcher.setLimits(Math.max(1, fwd.batch_max_records >> 2), Math.max(1024, fwd.batch_max_bytes >> 2), fwd.flush_interval_ms);
    else this.batcher.setLimits(fwd.batch_max_records, fwd.batch_max_bytes, fwd.flush_interval_ms);
  }

  /** The open batch for `f`'s tag (opened when there is none). */
  batchFor(f: TailedFile): Batch {
    return this.batcher.batchFor(f.meta.tag);
  }

  /** A file changed: the flush tick (armed now when none is) reads it. */
  armTick(): void {
    this.batcher.arm();
  }

  /** Encode one entry into the file's batch; an encoder that throws leaves the batch as it was. */
  write(f: TailedFile, seg: Segment, put: (out: EntryBuffer) => void): void {
    const b = this.batchFor(f);
    const before = b.buf!.length;
    try {
      put(b.buf!);
    } catch (err) {
      b.buf!.length = before;
      throw err;
    }
    this.added(b, seg, before);
  }

  /** An entry was written into `b` (which held `before` bytes): send what is full or over budget. */
  added(b: Batch, seg: Segment, before: number): void {
    const full = this.batcher.added(b, seg, b.buf!.length - before);
    if (full) this.send(full);
    for (const o of this.batcher.overBudget()) this.send(o);
  }

  /** Send every open batch now. */
  flush(): void {
    for (const b of this.batcher.takeAll()) this.send(b);
  }

  /** At stop, after the last flush(). */
  close(): void {
    this.batcher.close();
  }

  private async tick(): Promise<void> {
    await this.t.adopter.readChangedNow();
    if (!this.t.env.stopping) this.flush();
  }

  /** Resolves when every batch in flight was acked or failed, or at `deadline` (monotonic ms). */
  async settled(deadline: number): Promise<void> {
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - this.t.env.mono())))),
    ]);
    clearTimeout(timer);
  }

  /** An offset or a tracked file changed: the checkpoint needs writing. */
  markDirty(): void {
    this.dirty = true;
  }

  /**
   * Housekeeping: write the checkpoint when it changed and the interval has passed. Housekeeping
   * runs at the checkpoint interval itself, and a timer may fire a little before a full interval
   * by the monotonic clock: a tenth of it (at most 50 ms) early still counts, or every other tick
   * would be skipped and the checkpoint written at twice its interval.
   */
  checkpointIfDue(now: number): void {
    const interval = this.t.env.config.tail.checkpoint_interval_ms;
    if (!this.dirty || now - this.lastWrite < interval - Math.min(50, interval / 10)) return;
    this.dirty = false;
    this.lastWrite = now;
    void this.t.store.write(this.entries()).then((ok) => {
      if (!ok) this.dirty = true;
    });
  }

  /** The final checkpoint (stop). */
  async writeCheckpoint(): Promise<void> {
    await this.t.store.write(this.entries());
  }

  private send(b: Batch): void {
    // From here on new lines go to a new segment: this one's batches are fixed.
    for (const seg of b.segments) seg.sealed = true;
    const { tag, count, segments } = b;
    let p: Promise<void>;
    try {
      p = this.t.env.sender.send(tag, b.buf!.view(), count, () => ({ files: fileSpans(segments) }));
    } catch (err) {
      p = Promise.reject(err);
    }
    // ChunkSender copies or consumes `entries` during send(): the buffer serves the next batch.
    this.batcher.release(b);
    const tracked: Promise<void> = p.then(
      () => this.acked(segments),
      (err) => this.t.env.logger.warn({ tag, records: count, err: String(err) }, 'batch not acknowledged; its offsets stay uncommitted'),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  private acked(segments: Segment[]): void {
    const now = this.t.env.wall();
    for (const seg of segments) seg.pending--;
    for (const seg of segments) {
      const f = seg.file;
      if (f.settle(now)) this.dirty = true;
      if (f.state === 'done' && f.inFlight === 0 && this.t.table.holds(f)) this.t.rotations.forget(f, true);
    }
  }

  private entries(): CheckpointEntry[] {
    const out: CheckpointEntry[] = [];
    const updatedNow = new Date(this.t.env.wall()).toISOString();
    for (const f of this.t.table.files()) {
      const e = entryOf(f, updatedNow);
      if (e) out.push(e);
    }
    for (const [key, entry] of this.t.drained.entries()) if (!this.t.table.has(key)) out.push(entry);
    return out;
  }
}

/**
 * The byte ranges of files a batch's lines come from, for a log line: each segment runs from the
 * end of the one before it in its file (or the committed offset) to its own end.
 */
export function fileSpans(segments: readonly Segment[]): Array<{ path: string; from?: number; to: number }> {
  return segments.map((seg) => {
    const q = seg.file.queue;
    const i = q.indexOf(seg);
    const from = i > 0 ? q[i - 1]!.offset : i === 0 ? seg.file.committed : undefined;
    return from === undefined ? { path: seg.file.path, to: seg.offset } : { path: seg.file.path, from, to: seg.offset };
  });
}

/** `f`'s checkpoint entry (null before it was ever fingerprinted); `updatedNow` for a start plan's. */
export function entryOf(f: TailedFile, updatedNow: string): CheckpointEntry | null {
  const base = { dev: f.dev, ino: f.ino, path: f.path, input: f.input.name, updated: f.updated };
  const real = f.realPath !== f.path ? { real_path: f.realPath } : {};
  if (f.resume) {
    const fp = f.resume.fp !== undefined ? { fp: f.resume.fp, fp_len: f.resume.fpLen! } : { fp: EMPTY_FP.fp, fp_len: 0 };
    return { ...base, ...real, ...fp, ...tailFields(f.resume.tail), offset: f.resume.offset, updated: updatedNow };
  }
  if (f.fpLen < 0) return null;
  const tail = f.tailCommitted && f.tailCommitted.at <= f.committed ? f.tailCommitted : undefined;
  return { ...base, ...real, fp: f.fp, fp_len: f.fpLen, ...tailFields(tail), offset: f.committed };
}

function tailFields(t: TailMark | undefined): Pick<CheckpointEntry, 'tail_hash' | 'tail_len' | 'tail_at'> {
  return t ? { tail_hash: t.hash, tail_len: t.len, tail_at: t.at } : {};
}
