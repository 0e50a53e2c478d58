// Per-tag batches of encoded entries, each with the file segments whose lines it carries.
import type { Segment } from './file.js';

export interface Batch {
  tag: string;
  parts: Uint8Array[];
  bytes: number;
  count: number;
  segments: Segment[];
  openedAt: number;
}

export class Batcher {
  private readonly open = new Map<string, Batch>();

  constructor(
    private maxRecords: number,
    private maxBytes: number,
  ) {}

  setLimits(maxRecords: number, maxBytes: number): void {
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
  }

  /** Append one entry; returns the batch when it is full and must be sent now. */
  add(tag: string, entry: Uint8Array, seg: Segment, now: number): Batch | null {
    let b = this.open.get(tag);
    if (!b) {
      b = { tag, parts: [], bytes: 0, count: 0, segments: [], openedAt: now };
      this.open.set(tag, b);
    }
    b.parts.push(entry);
    b.bytes += entry.byteLength;
    b.count++;
    if (b.segments[b.segments.length - 1] !== seg) {
      b.segments.push(seg);
      seg.pending++;
    }
    if (b.count >= this.maxRecords || b.bytes >= this.maxBytes) {
      this.open.delete(tag);
      return b;
    }
    return null;
  }

  /** Batches opened at least `ageMs` ago (all with ageMs 0), removed from the open set. */
  due(now: number, ageMs: number): Batch[] {
    const out: Batch[] = [];
    for (const [tag, b] of this.open) {
      if (now - b.openedAt >= ageMs) {
        out.push(b);
        this.open.delete(tag);
      }
    }
    return out;
  }

  bufferedBytes(): number {
    let n = 0;
    for (const b of this.open.values()) n += b.bytes;
    return n;
  }
}
