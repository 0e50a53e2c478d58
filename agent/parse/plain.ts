import type { Fragment } from './types.js';

/**
 * A host log line as is. One trailing `\r` goes (CRLF files); the time is when it was read,
 * since plain lines have no reliable timestamp format. Host logs have no stream: `stdout`.
 */
export function parsePlain(line: string, nowSec: number, nowNsec: number): Fragment {
  const content = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
  return { sec: nowSec, nsec: nowNsec, stream: 'stdout', content, partial: false };
}
