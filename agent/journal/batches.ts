// A journald input's entries on their way to the sender: batched per tag, sent when full, big or
// old, and tracked by cursor. Invariant: `committed` is the cursor of an entry acked together with
// every entry read before it, so a restart from it loses nothing acked-or-not and resends little.
import type { Logger } from '../../core/log.js';
import { concatEntries, encodeEntry, newEncoder } from '../forward/protocol.js';
import type { ChunkSender } from '../tail/pipeline.js';

/** Consecutive entries of one tag, all in one batch: the unit the cursor moves over. */
interface Span {
  cursor: string;
  count: number;
  acked: boolean;
}

interface OpenBatch {
  tag: string;
  parts: Uint8Array[];
  bytes: number;
  spans: Span[];
  timer: NodeJS.Timeout;
}

export interface JournalBatchesOptions {
  /** The input's name, for logs. */
  input: string;
  sender: ChunkSender;
  logger: Logger;
  batch: { maxRecords: number; maxBytes: number; flushMs: number };
  /** Called after each send: the sender may have no room left. */
  flow(): void;
}

export class JournalBatches {
  /** Cursor of the last entry acked with all before it; null before the first. */
  committed: string | null = null;
  /** `committed` moved since the cursor file was last written. */
  dirty = false;
  /** Entries acked. */
  acked = 0;
  /** Spans not yet committed, oldest first, from index `spanHead` on. */
  private spans: Span[] = [];
  private spanHead = 0;
  private readonly open = new Map<string, OpenBatch>();
  private openBytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  /** Encodes this input's records (its buffer is reused entry after entry). */
  private readonly encoder = newEncoder();

  constructor(private readonly o: JournalBatchesOptions) {}

  /** Add one entry to its tag's batch; sends that batch, or the biggest, when a bound is reached. */
  add(tag: string, cursor: string, sec: number, nsec: number, record: Record<string, unknown>): void {
    const bytes = encodeEntry(sec, nsec, record, this.encoder);
    const b = this.batchFor(tag);
    b.parts.push(bytes);
    b.bytes += bytes.byteLength;
    this.openBytes += bytes.byteLength;
    const last = this.spans.length > this.spanHead ? this.spans[this.spans.length - 1] : undefined;
    const mine = b.spans[b.spans.length - 1];
    if (mine && mine === last) {
      mine.cursor = cursor;
      mine.count++;
    } else {
      const span: Span = { cursor, count: 1, acked: false };
      this.spans.push(span);
      b.spans.push(span);
    }
    const { maxRecords, maxBytes } = this.o.batch;
    if (b.parts.length >= maxRecords || b.bytes >= maxBytes) this.send(b);
    // Many tags must not each hold a nearly full batch: over the byte bound in all, send the biggest.
    while (this.openBytes > maxBytes && this.open.size > 0) {
      let big: OpenBatch | null = null;
      for (const o of this.open.values()) if (!big || o.bytes > big.bytes) big = o;
      this.send(big!);
    }
  }

  /** Send every open batch now. */
  sendOpen(): void {
    for (const b of [...this.open.values()]) this.send(b);
  }

  /** Wait for the batches sent to be acked or refused, at most `ms`. */
  async settle(ms: number): Promise<void> {
    if (this.inflight.size === 0) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise<void>((r) => (t = setTimeout(r, ms)))]);
    clearTimeout(t);
  }

  private batchFor(tag: string): OpenBatch {
    let b = this.open.get(tag);
    if (!b) {
      const opened: OpenBatch = { tag, parts: [], bytes: 0, spans: [], timer: setTimeout(() => this.send(opened), this.o.batch.flushMs) };
      opened.timer.unref();
      b = opened;
      this.open.set(tag, b);
    }
    return b;
  }

  private send(b: OpenBatch): void {
    if (this.open.get(b.tag) !== b) return;
    clearTimeout(b.timer);
    this.open.delete(b.tag);
    this.openBytes -= b.bytes;
    let p: Promise<void>;
    try {
      const last = b.spans[b.spans.length - 1];
      p = this.o.sender.send(b.tag, concatEntries(b.parts), b.parts.length, () => ({ input: this.o.input, up_to_cursor: last?.cursor }));
    } catch (err) {
      p = Promise.reject(err);
    }
    const { tag, spans } = b;
    const count = b.parts.length;
    const tracked = p.then(
      () => this.ackedSpans(spans, count),
      (err) => this.o.logger.warn({ input: this.o.input, tag, records: count, err: String(err) }, 'journal batch not acknowledged; the cursor stays before it'),
    );
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
    this.o.flow();
  }

  /** Acks may come out of order across chunks: the cursor moves only over a prefix of acked spans. */
  private ackedSpans(spans: Span[], count: number): void {
    this.acked += count;
    for (const s of spans) s.acked = true;
    let moved = false;
    while (this.spanHead < this.spans.length && this.spans[this.spanHead]!.acked) {
      this.committed = this.spans[this.spanHead++]!.cursor;
      moved = true;
    }
    // Drop the committed prefix now and then, not per ack (shift() would copy the rest each time).
    if (this.spanHead > 1024 && this.spanHead * 2 > this.spans.length) {
      this.spans = this.spans.slice(this.spanHead);
      this.spanHead = 0;
    }
    if (moved) this.dirty = true;
  }
}
