// One tailed file's state, keyed by identity (dev:ino, fingerprint checked beside it). Its life
// state changes only through the mark* methods below. Times: `lastActivity`, `eofSince` and
// `rotatedAt` are monotonic (durations); `updated` is wall-clock time (the checkpoint's field).
import { dirname } from 'node:path';
import type { InputConfig } from '../../config/schema.js';
import type { K8sMeta } from '../parse/kubernetes.js';
import { Reassembler } from '../parse/reassemble.js';
import type { TailMark } from './identity.js';

/**
 * A file's life (each transition is one TailedFile method, named after the target state):
 * - `active` (markActive): fd held, its path still names it → `idle` (no growth for idle_close_s, or
 *   fd pressure while at EOF) | `rotated` (its path names another file, or is gone).
 * - `waiting` (markWaiting): needs an fd but `max_open_files` are held; keeps its place in line → `active`.
 * - `idle` (markIdle): closed at EOF; reopened (fingerprint verified) when a stat shows growth → `waiting` | `active`.
 * - `unreadable` (markUnreadable): open() failed with an error that may pass (EACCES/EPERM after a
 *   chmod, EMFILE, EIO); keeps its offset and checkpoint entry, retried on every rescan → `active` (or
 *   `rotated`/forgotten when the rescan finds it renamed or gone). A rotated file keeps `rotated` and
 *   sets `openError`.
 * - `rotated` (markRotated): renamed or deleted; held open until drained to EOF, at most
 *   rotated_keep_s (monotonic) → `done`. markWaiting, markActive and markUnreadable leave it rotated.
 * - `done` (markDone): finished or given up; forgotten once its last batch was acked or failed. Final.
 */
export type FileState = 'active' | 'waiting' | 'idle' | 'unreadable' | 'rotated' | 'done';

/**
 * The end offset of the lines carried by one or more batches; committable once `pending` is 0.
 * Until one of its batches is sent (`sealed`), new lines extend it instead of queueing another:
 * a segment per batch, not per line.
 */
export interface Segment {
  offset: number;
  pending: number;
  sealed: boolean;
  file: TailedFile;
}

/** Where to start once the file is opened: a checkpoint (verified against its fingerprint) or a plain offset. */
export interface ResumePlan {
  offset: number;
  fp?: string;
  fpLen?: number;
  /** The bytes before (at most) the offset, from the checkpoint: another generation has others. */
  tail?: TailMark;
}

export type Format = 'docker' | 'cri' | 'plain';

export class TailedFile {
  private life: FileState = 'waiting';
  fd: number | null = null;
  /** Bytes up to here were split into lines (the carry follows). */
  lineEnd = 0;
  /** An unterminated line's bytes read so far (at most max_line_bytes). */
  carry: Buffer | null = null;
  /** The checkpointed offset: every line before it was acked. */
  committed = 0;
  /** Last size seen by stat/fstat/read. */
  size = 0;
  /** Ordered end offsets of lines in flight; settled ones before `head` wait to be compacted away. */
  queue: Segment[] = [];
  private head = 0;
  /** Start of the first line whose text sits in the Reassembler (not sent, not committable); -1 none. */
  pendingStart = -1;
  /** The previous piece was cut at max_line_bytes: the next piece continues it (parsed plain). */
  inCut = false;
  format: Format | null;
  reasm: Reassembler;
  /** Monotonic ms of the last read that returned bytes (or of tracking start). */
  lastActivity: number;
  /** Monotonic ms since which reads found nothing more; null while data comes. */
  eofSince: number | null = null;
  /** Monotonic ms of the latest read that found nothing more (meaningful while `eofSince` is set). */
  eofLast = 0;
  /** Monotonic ms when it was marked rotated. */
  rotatedAt: number | null = null;
  /** The `.updated` field of its checkpoint entry: when `committed` last moved. */
  updated: string;
  resume: ResumePlan | null = null;
  /** It was read to EOF: before the next read, check its first bytes (copytruncate then quick writes). */
  checkFp = false;
  /** A read on its fd is in progress: it must not be closed now. */
  busy = false;
  /** Birth time (ms) seen at the last open, where the file system keeps one: a new generation has another. */
  birth: number | null = null;
  /** The bytes just before the last read's end: a truncated file regrown past it has others there. */
  tail: TailMark | null = null;
  /** The latest `tail` at or before `committed`: what the checkpoint entry carries. */
  tailCommitted: TailMark | null = null;
  /** The errno of the last failed open() while it still exists (see `unreadable`); null once it opens. */
  openError: string | null = null;

  constructor(
    readonly key: string,
    readonly dev: number,
    readonly ino: number,
    public fp: string,
    public fpLen: number,
    public path: string,
    public realPath: string,
    public input: InputConfig,
    readonly meta: { k8s: K8sMeta | null; dockerId: string | null; tag: string },
    maxLineBytes: number,
    /** Wall-clock ms: the checkpoint entry's first `updated`. */
    now: number,
    /** Monotonic ms: the first `lastActivity`. */
    monoNow: number = performance.now(),
  ) {
    this.format = input.format === 'auto' ? null : input.format;
    this.reasm = new Reassembler(maxLineBytes);
    this.lastActivity = monoNow;
    this.updated = new Date(now).toISOString();
  }

  get state(): FileState {
    return this.life;
  }

  private dirOf: string | null = null;
  private dir = '';

  /** The directory of `realPath`, worked out again only when `realPath` changes (a rescan asks for it per file). */
  get realDir(): string {
    if (this.dirOf !== this.realPath) {
      this.dir = dirname(this.realPath);
      this.dirOf = this.realPath;
    }
    return this.dir;
  }

  /** Rotated or done: its path no longer names it. */
  get unlinked(): boolean {
    return this.life === 'rotated' || this.life === 'done';
  }

  markWaiting(): void {
    if (this.life !== 'rotated') this.life = 'waiting';
  }

  markActive(): void {
    if (this.life !== 'rotated') this.life = 'active';
  }

  markIdle(): void {
    this.life = 'idle';
  }

  markUnreadable(code: string): void {
    this.openError = code;
    if (this.life !== 'rotated') this.life = 'unreadable';
  }

  markRotated(monoNow: number): void {
    this.life = 'rotated';
    this.rotatedAt = monoNow;
  }

  markDone(): void {
    this.life = 'done';
  }

  get readPos(): number {
    return this.lineEnd + (this.carry ? this.carry.length : 0);
  }

  /** Where the checkpoint could go if everything read were acked (partials not yet sent excluded). */
  get sendableEnd(): number {
    return this.pendingStart >= 0 ? this.pendingStart : this.lineEnd;
  }

  lag(): number {
    return Math.max(0, this.size - this.committed);
  }

  /** Segments not yet settled. */
  get inFlight(): number {
    return this.queue.length - this.head;
  }

  /**
   * The segment lines ending at `offset` (monotonic) belong to: the last one, extended, while none
   * of its batches was sent; else a new one.
   */
  segment(offset: number): Segment {
    const last = this.queue.length > this.head ? this.queue[this.queue.length - 1]! : null;
    if (last && last.offset >= offset) return last;
    if (last && !last.sealed) {
      last.offset = offset;
      return last;
    }
    const seg: Segment = { offset, pending: 0, sealed: false, file: this };
    this.queue.push(seg);
    return seg;
  }

  /**
   * Advance `committed` over the acked head of the queue (amortised O(1) per segment); true when it
   * moved. `now` is wall-clock ms, for `updated`.
   */
  settle(now: number): boolean {
    let moved = false;
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.pending === 0) {
      const seg = q[this.head++]!;
      if (seg.offset > this.committed) {
        this.committed = seg.offset;
        moved = true;
      }
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    if (moved) {
      this.updated = new Date(now).toISOString();
      if (this.tail && this.tail.at <= this.committed) this.tailCommitted = this.tail;
    }
    return moved;
  }

  /** Orphan the segments in flight: their acks move nothing. */
  clearQueue(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Start over from offset 0 (copytruncate, or a checkpoint that no longer matches). */
  restart(): void {
    this.lineEnd = 0;
    this.carry = null;
    this.committed = 0;
    // Segments still in flight belong to the old content: orphan them so their acks move nothing.
    this.clearQueue();
    this.pendingStart = -1;
    this.inCut = false;
    this.eofSince = null;
    this.tail = this.tailCommitted = null;
  }
}
