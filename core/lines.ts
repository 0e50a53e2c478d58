// Bounded line splitting for the output of processes warden runs (the child, journalctl): a
// line is cut at a byte cap, never buffered whole, and the last lines are kept in a ring.

/** A longer line is cut here and the rest of it up to the next newline is dropped (and counted). */
export const MAX_CHILD_LINE_BYTES = 16 * 1024;

/** Splits a byte stream into lines of at most `maxBytes`; memory stays bounded whatever the input. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private dropped = 0;
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: string, droppedBytes: number) => void,
  ) {}

  write(chunk: Buffer): void {
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(10, start);
      this.append(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.flush();
      start = nl + 1;
    }
  }

  /**
   * Takes `chunk` without producing lines (the line in progress is dropped too); returns how many
   * lines it ended. Costs a newline search, no copies.
   */
  discard(chunk: Buffer): number {
    let lines = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) lines++;
    if (lines > 0) {
      this.reset();
      this.discarding = chunk[chunk.length - 1] !== 10;
    } else if (chunk.length > 0) this.discarding = true;
    return lines;
  }

  /** The stream ended: a last line without newline still counts. */
  end(): void {
    if (this.size > 0 || this.dropped > 0) this.flush();
  }

  private append(seg: Buffer): void {
    if (seg.length === 0) return;
    const room = this.maxBytes - this.size;
    if (seg.length <= room) {
      this.parts.push(seg);
      this.size += seg.length;
    } else {
      if (room > 0) this.parts.push(seg.subarray(0, room));
      this.size += Math.max(room, 0);
      this.dropped += seg.length - Math.max(room, 0);
    }
  }

  private flush(): void {
    if (this.discarding) {
      // The rest of a line whose start was discarded: it goes too, not as a line of its own.
      this.reset();
      return;
    }
    let line = Buffer.concat(this.parts, this.size).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const dropped = this.dropped;
    this.reset();
    this.onLine(line, dropped);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
    this.discarding = false;
  }
}

/** The last `capacity` lines, oldest first. */
export class LineRing {
  private readonly buf: string[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(line: string): void {
    if (this.buf.length < this.capacity) this.buf.push(line);
    else this.buf[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  lines(): string[] {
    return this.buf.length < this.capacity ? [...this.buf] : [...this.buf.slice(this.next), ...this.buf.slice(0, this.next)];
  }
}
