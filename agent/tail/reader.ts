// Line splitting over blocks read from a file: Buffer.indexOf on `\n`, one callback per physical
// line, no per-line promises. A physical line longer than `maxLineBytes` is handed on in pieces
// with `cut = true` (the Reassembler marks them truncated), so a 10 MiB line without a newline
// never holds more than `maxLineBytes` of memory here.

/** One physical line (or a cut piece of one): `data[start, end)`, ending at file offset `endOffset`. */
export type OnLine = (data: Buffer, start: number, end: number, endOffset: number, cut: boolean) => void;

/**
 * Split `block` (read at file offset `blockOffset`) after the unterminated `carry` of the previous
 * block. Returns the new carry: the bytes after the last newline (copied; `block` may be reused).
 */
export function splitLines(carry: Buffer | null, block: Buffer, blockOffset: number, maxLineBytes: number, onLine: OnLine): Buffer | null {
  const data = carry && carry.length > 0 ? Buffer.concat([carry, block]) : block;
  const dataOffset = blockOffset - (carry ? carry.length : 0);
  let pos = 0;
  for (;;) {
    const nl = data.indexOf(10, pos);
    if (nl < 0) break;
    pos = emitCut(data, pos, nl, dataOffset, maxLineBytes, onLine);
    onLine(data, pos, nl, dataOffset + nl + 1, false);
    pos = nl + 1;
  }
  pos = emitCut(data, pos, data.length, dataOffset, maxLineBytes, onLine);
  return pos < data.length ? Buffer.from(data.subarray(pos)) : null;
}

/** Emit `maxLineBytes` pieces of `data[pos, end)` while more than that remains; returns the new start. */
function emitCut(data: Buffer, pos: number, end: number, dataOffset: number, max: number, onLine: OnLine): number {
  while (end - pos > max) {
    const cut = utf8Boundary(data, pos + max, pos);
    onLine(data, pos, cut, dataOffset + cut, true);
    pos = cut;
  }
  return pos;
}

/** Move a cut point back off UTF-8 continuation bytes (at most 3), so a character is not split. */
export function utf8Boundary(data: Buffer, at: number, min: number): number {
  let p = at;
  for (let i = 0; i < 3 && p > min + 1 && (data[p]! & 0xc0) === 0x80; i++) p--;
  return (data[p]! & 0xc0) === 0x80 ? at : p;
}

/**
 * A run of NUL bytes at least this long is not text: a sparse file's hole, or a preallocated
 * region never written. It is skipped, not shipped (see the pipeline's skipNul).
 */
export const NUL_RUN_MIN = 4096;

const ZEROS = Buffer.alloc(NUL_RUN_MIN);

/** The number of NUL bytes at `b[from, end)`'s start. memcmp by NUL_RUN_MIN blocks, bytes at the end. */
export function zeroPrefix(b: Buffer, from: number, end: number): number {
  let i = from;
  while (end - i >= NUL_RUN_MIN && b.compare(ZEROS, 0, NUL_RUN_MIN, i, i + NUL_RUN_MIN) === 0) i += NUL_RUN_MIN;
  while (i < end && b[i] === 0) i++;
  return i - from;
}

/**
 * The first run of NULs in `b[from, end)` to act on: `skip` when it is at least NUL_RUN_MIN long;
 * not `skip` when it is shorter but reaches `end` of a block that `more` data follows (it may go on
 * in the next block: read again from its start). Null when there is none (short runs are text).
 */
export function nulRun(b: Buffer, from: number, end: number, more: boolean): { start: number; end: number; skip: boolean } | null {
  let i = from;
  for (;;) {
    const at = b.indexOf(0, i);
    if (at < 0 || at >= end) return null;
    const n = zeroPrefix(b, at, end);
    if (n >= NUL_RUN_MIN) return { start: at, end: at + n, skip: true };
    if (at + n === end) return more && at > from ? { start: at, end, skip: false } : null;
    i = at + n;
  }
}
