// Per-tag batches of entries encoded into one buffer each, with the file segments whose lines they
// carry. A batch is sent when full, `flushMs` after its first record (its own timer), or when the
// bytes held in all open batches pass `maxBytes` (many tags must not each hold a nearly full batch).
import { EntryBuffer } from '../forward/protocol.js';
import type { Segment } from './file.js';

export interface Batch {
  tag: string;
  /** The encoded entries; null once sent (its buffer went back to the pool). */
  buf: EntryBuffer | null;
  count: number;
  segments: Segment[];
  openedAt: number;
  timer: NodeJS.Timeout | null;
}

/** Buffers kept for reuse after a batch is sent: enough for the usual few busy tags. */
const POOL_MAX = 4;

export class Batcher {
  private readonly open = new Map<string, Batch>();
  private readonly pool: EntryBuffer[] = [];
  private openBytes = 0;

  constructor(
    private maxRecords: number,
    private maxBytes: number,
    private flushMs: number,
    /** Called with a batch whose flush timer fired (already removed from the open set). */
    private readonly onDue: (b: Batch) => void,
  ) {}

  setLimits(maxRecords: number, maxBytes: number, flushMs: number = this.flushMs): void {
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
    this.flushMs = flushMs;
  }

  /** The open batch for `tag` (opened now, its flush timer started, when there is none). */
  batchFor(tag: string, now: number): Batch {
    let b = this.open.get(tag);
    if (!b) {
      b = { tag, buf: this.pool.pop() ?? new EntryBuffer(16 * 1024, this.maxBytes + 64 * 1024), count: 0, segments: [], openedAt: now, timer: null };
      const opened = b;
      b.timer = setTimeout(() => {
        opened.timer = null;
        if (this.open.get(tag) !== opened) return;
        this.remove(opened);
        this.onDue(opened);
      }, this.flushMs);
      b.timer.unref();
      this.open.set(tag, b);
    }
    return b;
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
  overBudget(): Batch[] {
    const out: Batch[] = [];
    while (this.openBytes > this.maxBytes && this.open.size > 0) {
      let big: Batch | null = null;
      for (const b of this.open.values()) if (!big || b.buf!.length > big.buf!.length) big = b;
      this.remove(big!);
      out.push(big!);
    }
    return out;
  }

  /** Batches opened at least `ageMs` ago (all with ageMs 0), removed from the open set. */
  due(now: number, ageMs: number): Batch[] {
    const out: Batch[] = [];
    for (const b of [...this.open.values()]) {
      if (now - b.openedAt >= ageMs) {
        this.remove(b);
        out.push(b);
      }
    }
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
    if (b.timer) clearTimeout(b.timer);
    b.timer = null;
    this.open.delete(b.tag);
    this.openBytes -= b.buf!.length;
  }
}
