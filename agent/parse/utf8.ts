// Byte arithmetic on JS strings as they will be encoded (UTF-8) on the wire. A lone surrogate
// (possible from a JSON `\ud800` escape) is encoded as U+FFFD, three bytes, as Buffer does.

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
