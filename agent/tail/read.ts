// One read step of one file (the scheduler decides which and when): open it if need be, check it
// is still the generation read so far, read one block at the read offset, hand the block to the
// line assembler, skip runs of NULs, and queue the file again while it has more.
//
// A block is read synchronously. From the page cache a pread takes microseconds; the same read
// through libuv's threadpool costs more than the read itself (a hand-off each way and a wake-up of
// the event loop), which at a steady trickle of lines was most of warden's CPU. fluentd's in_tail
// and Fluent Bit read on their event loop too. The rare scans over NUL runs stay asynchronous.
import { fstatSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';
import type { LostReason } from '../health/labels.js';
import type { Tail } from './context.js';
import type { TailedFile } from './file.js';
import { FP_BYTES, fingerprintFd, fingerprintMatches, markedBytes, tailMatches, tailOf, type TailMark } from './identity.js';
import { nulRun, zeroPrefix } from './reader.js';

const readAsync = promisify(read);

/** Block sizes and per-call bound of a scan over NULs (zerosEnd). */
const ZERO_SCAN_FIRST = 1024 * 1024;
const ZERO_SCAN_BIG = 16 * 1024 * 1024;
const ZERO_SCAN_MAX = 2 * 1024 ** 3;
/** The read size while shedding memory. */
const SHED_READ_BYTES = 64 * 1024;

export class FileReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Files whose first skipped NUL run was logged. */
  private readonly warnedNul = new WeakSet<TailedFile>();
  /** Shedding memory (TailPipeline.shed): smaller reads. */
  shedding = false;

  constructor(private readonly t: Tail) {}

  async step(f: TailedFile): Promise<void> {
    if (f.state === 'done' || !(await this.t.opener.ensureOpen(f))) return;
    const fd = f.fd!;
    // A file truncated and written past its old size again looks like growth; the bytes before the
    // read offset tell (or its first bytes, where no tail mark is kept). The tail mark is checked
    // inside the data read: one pread from just before the offset, the usual step at a steady rate.
    let mark: TailMark | null = null;
    if (f.checkFp) {
      f.checkFp = false;
      if (f.tail && f.tail.at === f.readPos && f.tail.len <= f.readPos) mark = f.tail;
      else if (f.fpLen > 0) {
        const same = (await fingerprintMatches(fd, { fp: f.fp, fpLen: f.fpLen })) && (!f.tail || (await tailMatches(fd, f.tail)));
        if (!same) this.t.rotations.truncated(f, fstatSync(fd).size);
      }
    }
    const from = f.readPos;
    const chunk = this.t.env.config.tail.read_chunk_bytes;
    const want = this.shedding ? Math.min(chunk, SHED_READ_BYTES) : chunk;
    // The carry goes in front of the block in one reused buffer: no per-read concatenation. The
    // checked bytes sit just before the block, where the carry's end is copied once they matched.
    const carryLen = f.carry ? f.carry.length : 0;
    const lead = mark ? Math.max(carryLen, mark.len) : carryLen;
    const markLen = mark ? mark.len : 0;
    const buf = this.readBuffer(lead + want);
    const got = readSync(fd, buf, lead - markLen, markLen + want, from - markLen);
    if (mark && (got < markLen || !markedBytes(buf.subarray(lead - markLen, lead), mark))) {
      this.t.rotations.truncated(f, fstatSync(fd).size);
      this.t.scheduler.again(f);
      return;
    }
    const bytesRead = got - markLen;
    const now = this.t.env.mono();
    const block = lead === carryLen ? buf : buf.subarray(lead - carryLen);
    if (bytesRead > 0) await this.took(f, fd, block, carryLen, bytesRead, bytesRead === want, now);
    else await this.atEnd(f, fd, from, now);
  }

  /** `bytesRead` bytes landed in `buf` after the carry; `full`: the block was filled (more may follow). */
  private async took(f: TailedFile, fd: number, buf: Buffer, carryLen: number, bytesRead: number, full: boolean, now: number): Promise<void> {
    const base = f.readPos - carryLen;
    this.t.scheduler.spend(bytesRead);
    f.lastActivity = now;
    f.eofSince = null;
    if (f.carry) f.carry.copy(buf, 0);
    f.carry = null;
    const total = carryLen + bytesRead;
    const run = nulRun(buf, carryLen, total, full);
    this.t.lines.consume(f, run ? buf.subarray(0, run.start) : buf.subarray(0, total), base);
    if (run?.skip) this.skipNul(f, base + run.start, run.end < total ? base + run.end : await this.zerosEnd(fd, base + run.end));
    else if (!run) f.tail = tailOf(buf, total, base + total);
    if (f.readPos > f.size) f.size = f.readPos;
    this.t.env.metrics.bytesRead.inc({ input: f.input.name }, bytesRead);
    // Fingerprinted again when this block reached past the bytes it covers, and when it began
    // inside them: a file resumed below its fingerprint (an unterminated first line, offset 0) that
    // was rewritten meanwhile has just been read as it is now, and the old mark would call that a
    // truncation and read it all again.
    if ((f.fpLen < FP_BYTES && f.readPos > f.fpLen) || base < f.fpLen) {
      const fp = await fingerprintFd(fd);
      f.fp = fp.fp;
      f.fpLen = fp.fpLen;
    }
    // After a NUL run (skipped, or cut off at the block's end) the next read starts behind it.
    if (full || run) this.t.scheduler.again(f);
    else {
      f.checkFp = true;
      // At EOF for now while others wait for a descriptor: hand this one over (closeFd wakes the
      // next in line), or waiting files would only get a turn at the next rescan.
      if (this.t.table.hasWaiting() && f.state === 'active') this.t.table.closeIdle(f);
    }
  }

  /** A read at `pos` returned nothing: truncated, grown since, or at its end (deleted, perhaps). */
  private async atEnd(f: TailedFile, fd: number, pos: number, now: number): Promise<void> {
    const st = fstatSync(fd);
    if (st.size < pos) {
      this.t.rotations.truncated(f, st.size);
      this.t.scheduler.again(f);
      return;
    }
    f.size = st.size;
    if (st.size > pos) {
      this.t.scheduler.again(f);
      return;
    }
    if (f.eofSince === null) f.eofSince = now;
    f.eofLast = now;
    f.checkFp = true;
    if (st.nlink === 0 && f.state === 'active') this.t.rotations.rotated(f);
  }

  /**
   * Bytes `[from, to)` are a run of NULs (nulRun): not shipped, counted as lost with reason `nul`,
   * and the checkpoint may pass them. Text before the run that has no newline yet is shipped as it
   * is, flagged `partial`: the run ends it.
   */
  private skipNul(f: TailedFile, from: number, to: number): void {
    const { metrics, logger, wall } = this.t.env;
    this.t.lines.endCarry(f);
    f.lineEnd = to;
    if (f.pendingStart < 0) f.segment(f.lineEnd);
    if (f.settle(wall())) this.t.ledger.markDirty();
    metrics.bytesLost.inc({ reason: 'nul' satisfies LostReason }, to - from);
    if (!this.warnedNul.has(f)) {
      this.warnedNul.add(f);
      logger.warn({ path: f.path, offset: from, bytes: to - from }, 'skipping a run of NUL bytes (a sparse file or a region never written); counted in warden_bytes_lost_total{reason="nul"}, later runs in this file only counted');
    }
  }

  /**
   * Where the NULs from `from` end. Node has no lseek(SEEK_DATA), so a hole is read; it reads as
   * zeros without touching the disk, and in big blocks 10 GiB pass in a few seconds (1 MiB blocks
   * take 4× as long). The big block is allocated only once a first 1 MiB proved all zeros, and is
   * dropped after the call. At most ZERO_SCAN_MAX per call, so other files get their turn; the
   * next read goes on from there.
   */
  private async zerosEnd(fd: number, from: number): Promise<number> {
    let b = Buffer.allocUnsafe(ZERO_SCAN_FIRST);
    let pos = from;
    while (pos - from < ZERO_SCAN_MAX && !this.t.env.stopping) {
      const { bytesRead } = await readAsync(fd, b, 0, b.length, pos);
      if (bytesRead === 0) break;
      const n = zeroPrefix(b, 0, bytesRead);
      pos += n;
      if (n < bytesRead) break;
      if (b.length < ZERO_SCAN_BIG) b = Buffer.allocUnsafe(ZERO_SCAN_BIG);
    }
    return pos;
  }

  /** One read buffer for all files (reads are sequential): read_chunk_bytes plus room for a carry. */
  private readBuffer(size: number): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
    return this.buf;
  }
}
