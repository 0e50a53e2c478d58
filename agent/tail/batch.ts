// Per-tag batches of entries encoded into one buffer each, with the file segments whose lines they
// carry. A batch is sent when full, when the bytes held in all open batches pass `maxBytes` (many
// tags must not each hold a nearly full batch), or at the flush tick. One tick serves every open
// batch: armed when a batch opens while none is armed, it fires `flushMs` later, so no batch waits
// longer than that and the batches of many busy tags leave together, in one wake-up and one
// socket write, not each on a timer of its own.
import { EntryBuffer } from '../forward/protocol.js';
import type { Segment } from './file.js';

export interface Batch {
  tag: string;
  /** The encoded entries; null once sent (its buffer went back to the pool). */
  buf: EntryBuffer | null;
  count: number;
  segments: Segment[];
}

/** Buffers kept for reuse after a batch is sent: enough for the usual few busy tags. */
const POOL_MAX = 4;
/**
 * A new batch buffer's size: it doubles as entries come. A first scan opens a batch for every
 * file's tag at once, mostly a few lines each; at 16 KiB each, 1,000 quiet files left ~16 MiB of
 * mostly unused buffers behind.
 */
const BATCH_START_BYTES = 1024;
const NONE: readonly Batch[] = Object.freeze([]);

export class Batcher {
  private readonly open = new Map<string, Batch>();
  private readonly pool: EntryBuffer[] = [];
  private openBytes = 0;
  private tick: NodeJS.Timeout | null = null;

  constructor(
    private maxRecords: number,
    private maxBytes: number,
    private flushMs: number,
    /** The flush tick fired: whoever owns the batches sends them now (takeAll). */
    private readonly onTick: () => void,
  ) {}

  setLimits(maxRecords: number, maxBytes: number, flushMs: number = this.flushMs): void {
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
    this.flushMs = flushMs;
  }

  /** The open batch for `tag` (opened now, arming the flush tick if none is, when there is none). */
  batchFor(tag: string): Batch {
    let b = this.open.get(tag);
    if (!b) {
      b = { tag, buf: this.pool.pop() ?? new EntryBuffer(BATCH_START_BYTES, this.maxBytes + 64 * 1024), count: 0, segments: [] };
      this.open.set(tag, b);
      this.arm();
    }
    return b;
  }

  /** Arms the flush tick when none is armed (a batch opening, or a file that changed). */
  arm(): void {
    this.tick ??= setTimeout(() => {
      this.tick = null;
      this.onTick();
    }, this.flushMs).unref();
  }

  /**
   * Whether the flush tick is armed. Once armed it fires (close() alone disarms it), so what
   * is left for it to do, it will do within `flushMs`.
   */
  ticking(): boolean {
    return this.tick !== null;
  }

  /** At stop, after the last takeAll(): no tick is left pending. */
  close(): void {
    if (this.tick) clearTimeout(this.tick);
    this.tick = null;
  }

  /**
   * One entry was written into `b.buf` (`grew` bytes) for lines ending in `seg`; returns the batch
   * when it is full and must be sent now.
   */
  added(b: Batch, seg: Segment, grew: number): Batch | null {
    b.count++;
    this.openBytes += grew;
    if (b.segments[b.segments.length - 1] !== seg) {
      b.segments.push(seg);
      seg.pending++;
    }
    if (b.count >= this.maxRecords || b.buf!.length >= this.maxBytes) {
      this.remove(b);
      return b;
    }
    return null;
  }

  /** While the open batches together hold more than `maxBytes`, take the biggest out to be sent. */
  overBudget(): readonly Batch[] {
    // Called once per record: no array unless there is something to take out.
    if (this.openBytes <= this.maxBytes) return NONE;
    const out: Batch[] = [];
    while (this.openBytes > this.maxBytes && this.open.size > 0) {
      let big: Batch | null = null;
      for (const b of this.open.values()) if (!big || b.buf!.length > big.buf!.length) big = b;
      this.remove(big!);
      out.push(big!);
    }
    return out;
  }

  /** Every open batch, removed from the open set. */
  takeAll(): Batch[] {
    const out = [...this.open.values()];
    for (const b of out) this.remove(b);
    return out;
  }

  /** A sent batch's buffer is free again (the sender copied or consumed it during send()). */
  release(b: Batch): void {
    const buf = b.buf;
    b.buf = null;
    if (!buf) return;
    buf.reset();
    if (this.pool.length < POOL_MAX) this.pool.push(buf);
  }

  bufferedBytes(): number {
    return this.openBytes;
  }

  private remove(b: Batch): void {
    this.open.delete(b.tag);
    this.openBytes -= b.buf!.length;
  }
}
