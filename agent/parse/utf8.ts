// UTF-8 byte arithmetic: on JS strings as they will be encoded on the wire (a lone surrogate,
// possible from a JSON `\ud800` escape, is encoded as U+FFFD, three bytes, as Buffer does), and
// on bytes read from files that are to be sent as they are.

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The largest index `i` such that `s.slice(0, i)` is at most `maxBytes` UTF-8 bytes and does not
 * split a surrogate pair; at least one code point when `maxBytes` >= 4, so callers always progress.
 */
export function utf8PrefixEnd(s: string, maxBytes: number): number {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let units = 1;
    let size: number;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size = 4;
      units = 2;
    } else size = 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += units;
  }
  return i;
}

/**
 * The length of the well-formed UTF-8 sequence at `b[i]` (a lead byte 0xc2–0xf4) that ends before
 * `e`, or 0: no overlong forms, no surrogates, nothing above U+10FFFF. Exactly the sequences that
 * Buffer#toString decodes and Buffer#write encodes back to the same bytes.
 */
export function utf8Sequence(b: Buffer, i: number, e: number): number {
  const c = b[i]!;
  const c1 = b[i + 1]!;
  if (c < 0xe0) return i + 1 < e && (c1 & 0xc0) === 0x80 ? 2 : 0;
  if (c < 0xf0) {
    if (i + 2 >= e) return 0;
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && (b[i + 2]! & 0xc0) === 0x80 ? 3 : 0;
  }
  if (i + 3 >= e) return 0;
  const lo = c === 0xf0 ? 0x90 : 0x80;
  const hi = c === 0xf4 ? 0x8f : 0xbf;
  return c1 >= lo && c1 <= hi && (b[i + 2]! & 0xc0) === 0x80 && (b[i + 3]! & 0xc0) === 0x80 ? 4 : 0;
}
