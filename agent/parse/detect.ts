/**
 * `format: auto`: the first byte of a file decides. Docker json-file lines start with `{`; CRI
 * lines with an RFC 3339 date, so a digit; anything else is plain. A plain file whose first line
 * starts with a digit is read as CRI, and its lines that do not parse are shipped flagged
 * `parse_error` with the raw text, so nothing is lost by a wrong guess.
 */
export function detectFormat(firstByte: number): 'docker' | 'cri' | 'plain' {
  if (firstByte === 0x7b) return 'docker';
  if (firstByte >= 0x30 && firstByte <= 0x39) return 'cri';
  return 'plain';
}
