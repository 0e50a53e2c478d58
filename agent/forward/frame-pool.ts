// Frame buffers of the Forward client, reused from ack to send.

/**
 * Frame buffers reused from ack to send: a chunk's frame lives until its ack, long enough to be
 * promoted, so fresh ones per chunk piled up as external memory until a full GC. At most `max`
 * (the in-flight limit) are kept; sizes are rounded up so frames of similar batches fit.
 */
export class FramePool {
  private readonly free: Buffer[] = [];

  constructor(private readonly max: number) {}

  /** The smallest free buffer that holds `size` bytes, else a new one. */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const n = this.free[i]!.length;
      if (n >= size && (best < 0 || n < this.free[best]!.length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    return Buffer.allocUnsafeSlow(frameSize(size));
  }

  /** Keep `buf` for reuse; when full, it replaces a smaller one (big frames are the costly ones). */
  give(buf: Buffer): void {
    if (this.free.length < this.max) {
      this.free.push(buf);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
    if (this.free[smallest]!.length < buf.length) this.free[smallest] = buf;
  }
}

const FRAME_ROUND = 64 * 1024;
const FRAME_MIN = 1024;

/**
 * The size a new frame buffer gets: the next power of two up to FRAME_ROUND, whole FRAME_ROUNDs
 * above. A small chunk (one quiet file's few lines) gets a small buffer: rounded up to 64 KiB,
 * a first scan of 1,000 files made 1,000 such frames, about 64 MiB of garbage the GC left for
 * long after (external memory below V8's limit does not start a collection).
 */
export function frameSize(size: number): number {
  if (size > FRAME_ROUND) return Math.ceil(size / FRAME_ROUND) * FRAME_ROUND;
  let n = FRAME_MIN;
  while (n < size) n *= 2;
  return n;
}
