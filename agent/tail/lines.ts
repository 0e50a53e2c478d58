// Blocks read from a file → physical lines → parsed fragments → reassembled records → the file's
// batch, and the file's line offsets (`lineEnd`, `pendingStart`, segments) kept in step. Two ways
// from a line to the batch, with the same bytes out: the byte path (a common Docker or CRI line,
// written from the read buffer without a string or a record) and the general path (parser,
// Reassembler, record encoder). No input can stop a file: a line that fails is shipped raw,
// flagged `parse_error`.
import { parseCri, parseCriBytes } from '../parse/cri.js';
import { newLineBytes, type LineBytes } from '../parse/bytes.js';
import { detectFormat } from '../parse/detect.js';
import { parseDocker, parseDockerBytes } from '../parse/docker.js';
import { parseHostLine, parsePlain } from '../parse/plain.js';
import { packMeta, writeLineBytesEntry, writeRecordEntry, type PackedMeta } from '../forward/record.js';
import type { Assembled, Fragment } from '../parse/types.js';
import type { LostReason } from '../health/labels.js';
import type { Tail } from './context.js';
import type { Format, TailedFile } from './file.js';
import { splitLines } from './reader.js';

const parsers: Record<Format, (line: string, sec: number, nsec: number) => Fragment> = {
  docker: parseDocker,
  cri: parseCri,
  plain: parseHostLine,
};

export class LineAssembler {
  /** Scratch for the byte parsers: filled and used within one line. */
  private readonly lineBytes: LineBytes = newLineBytes();
  /** The clock readings of the block being consumed: one per block, none per line. */
  private sec = 0;
  private nsec = 0;
  private readonly metaCache = new WeakMap<TailedFile, PackedMeta>();
  /** Files whose first unparseable line was logged (later ones are only counted). */
  private readonly warnedParse = new WeakSet<TailedFile>();

  constructor(private readonly t: Tail) {}

  /** A block read at file offset `pos`, after the file's carry: its complete lines go to the batches. */
  consume(f: TailedFile, block: Buffer, pos: number): void {
    this.stamp();
    let lines = 0;
    f.carry = splitLines(f.carry, block, pos, this.t.env.config.tail.max_line_bytes, (data, s, e, endOffset, cut) => {
      if (!cut) lines++;
      this.consumeLine(f, data, s, e, endOffset, cut);
    });
    if (lines > 0) this.t.env.metrics.linesRead.inc({ input: f.input.name }, lines);
  }

  /** No newline will come: the unterminated line is shipped as it is, flagged `partial` (its end never arrived). */
  endCarry(f: TailedFile): void {
    if (!f.carry || f.carry.length === 0) return;
    const carry = f.carry;
    f.carry = null;
    this.stamp();
    this.consumeLine(f, carry, 0, carry.length, f.lineEnd + carry.length, false, true);
  }

  /** Ship what the Reassembler holds (partials waited long enough, or the file ends here). */
  flushPartials(f: TailedFile): void {
    const out = f.reasm.flush();
    // A raw cut piece (rawLine) is not in the Reassembler: its start stays held.
    const held = f.reasm.heldFrom();
    if (!f.inCut || held >= 0) f.pendingStart = held;
    if (out.length > 0) this.emit(f, out);
  }

  private stamp(): void {
    const ms = this.t.env.wall();
    this.sec = Math.floor(ms / 1000);
    this.nsec = (ms - this.sec * 1000) * 1e6;
  }

  /**
   * One physical line (or cut piece) into the batches. Whatever a parser, the reassembly or the
   * encoder throws on (a docker `attrs` nested 5,000 deep overflows JSON.stringify's stack) is
   * caught here, at the line, and the line's bytes are shipped raw, flagged `parse_error`; reading
   * goes on after it.
   */
  private consumeLine(f: TailedFile, data: Buffer, s: number, e: number, endOffset: number, cut: boolean, unterminated = false): void {
    const lineStart = f.lineEnd;
    try {
      if (!this.byBytes(f, data, s, e, endOffset, cut, unterminated)) this.parseLine(f, data.toString('utf8', s, e), endOffset, cut, unterminated);
    } catch (err) {
      this.rawLine(f, data.toString('utf8', s, e), lineStart, endOffset, cut, err);
    }
  }

  /** The byte path: true when the line went from `data` into the batch as it is. */
  private byBytes(f: TailedFile, data: Buffer, s: number, e: number, endOffset: number, cut: boolean, unterminated: boolean): boolean {
    if (f.format === null && e > s) f.format = detectFormat(data[s]!);
    if (!this.t.env.bytePath || cut || unterminated || !f.reasm.isEmpty()) return false;
    const parse = f.format === 'docker' ? parseDockerBytes : f.format === 'cri' ? parseCriBytes : null;
    const d = this.lineBytes;
    if (!parse || !parse(data, s, e, d) || d.length > this.t.env.config.tail.max_line_bytes) return false;
    f.inCut = false;
    f.lineEnd = endOffset;
    f.pendingStart = -1;
    const seg = f.segment(f.sendableEnd);
    // Bytes the parser already checked cannot fail to encode: no closure or guard per line here.
    const b = this.t.ledger.batchFor(f);
    const before = b.buf!.length;
    writeLineBytesEntry(b.buf!, data, d, this.packedMeta(f));
    this.t.ledger.added(b, seg, before);
    return true;
  }

  /** The general path: parse, reassemble (partials, cut pieces), encode records. */
  private parseLine(f: TailedFile, text: string, endOffset: number, cut: boolean, unterminated: boolean): void {
    const lineStart = f.lineEnd;
    // Pieces after a cut are raw text of the same physical line (see Reassembler).
    const frag = f.inCut ? parsePlain(text, this.sec, this.nsec) : parsers[f.format ?? 'plain'](text, this.sec, this.nsec);
    if (frag.parseError) this.t.env.metrics.parseErrors.inc({ input: f.input.name });
    if (frag.timeOutOfRange) this.t.env.metrics.timeOutOfRange.inc({ input: f.input.name });
    f.inCut = cut;
    const out = f.reasm.push(frag, cut, lineStart);
    if (unterminated && out.length > 0) out[out.length - 1]!.partial = true;
    f.lineEnd = endOffset;
    // Text held back (a partial, or a physical line not finished) makes the oldest line it comes
    // from uncommittable; pieces already shipped from a long chain let the checkpoint pass theirs.
    f.pendingStart = f.reasm.heldFrom();
    if (out.length > 0) this.emit(f, out);
    else if (f.pendingStart < 0) f.segment(f.lineEnd);
  }

  /** A line that failed on its way: shipped as its raw text, in its own record. */
  private rawLine(f: TailedFile, text: string, lineStart: number, endOffset: number, cut: boolean, err: unknown): void {
    const { metrics, logger } = this.t.env;
    metrics.parseErrors.inc({ input: f.input.name });
    if (!this.warnedParse.has(f)) {
      this.warnedParse.add(f);
      logger.warn({ path: f.path, offset: lineStart, err: String(err) }, 'a line could not be parsed or encoded; shipped raw with parse_error (further ones in this file are only counted)');
    }
    f.inCut = cut;
    f.lineEnd = endOffset;
    if (f.reasm.pendingBytes() > 0 || cut) {
      if (f.pendingStart < 0) f.pendingStart = lineStart;
    } else f.pendingStart = -1;
    try {
      this.emit(f, [{ sec: this.sec, nsec: this.nsec, stream: 'stdout', log: text, parse_error: true }]);
    } catch (again) {
      // Not even the raw text could be encoded: the line is given up, counted, and the file goes on.
      metrics.bytesLost.inc({ reason: 'encode' satisfies LostReason }, Buffer.byteLength(text));
      logger.warn({ path: f.path, offset: lineStart, err: String(again) }, 'a line could not be encoded even raw; given up');
      if (f.pendingStart < 0) f.segment(f.lineEnd);
    }
  }

  private emit(f: TailedFile, out: Assembled[]): void {
    const seg = f.segment(f.sendableEnd);
    const meta = this.packedMeta(f);
    for (const a of out) {
      if (a.truncated) this.t.env.metrics.truncatedLines.inc();
      this.t.ledger.write(f, seg, (buf) => writeRecordEntry(buf, a, meta));
    }
  }

  /** The file's constant record fields, encoded once (the host is the pipeline's). */
  private packedMeta(f: TailedFile): PackedMeta {
    let m = this.metaCache.get(f);
    if (!m) {
      m = packMeta({ k8s: f.meta.k8s, dockerId: f.meta.dockerId, host: this.t.env.host });
      this.metaCache.set(f, m);
    }
    return m;
  }
}
