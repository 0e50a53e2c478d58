// The runtime's ceiling on the same files: read in large blocks, split on `\n`, and (optionally)
// JSON.parse every line. No tailing, no records, no sockets: what plain Node does at best.
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface BaselineResult {
  lines: number;
  bytes: number;
  seconds: number;
}

function once(files: string[], parse: boolean): BaselineResult {
  const block = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  let bytes = 0;
  let sink = 0; // keeps the parse from being optimised away
  const start = performance.now();
  for (const f of files) {
    const fd = openSync(f, 'r');
    const dec = new StringDecoder('utf8');
    let carry = '';
    try {
      for (;;) {
        const n = readSync(fd, block, 0, block.length, null);
        if (n === 0) break;
        bytes += n;
        const parts = (carry + dec.write(n === block.length ? block : block.subarray(0, n))).split('\n');
        carry = parts.pop()!;
        lines += parts.length;
        if (parse) for (const p of parts) sink += (JSON.parse(p) as { log: string }).log.length;
      }
    } finally {
      closeSync(fd);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (sink < 0) throw new Error('unreachable');
  return { lines, bytes, seconds };
}

/** Best of `rounds` runs (warm page cache assumed); `parse` false = split only. */
export function baseline(files: string[], parse: boolean, rounds = 3): BaselineResult {
  let best: BaselineResult | null = null;
  for (let i = 0; i < rounds; i++) {
    const r = once(files, parse);
    if (!best || r.seconds < best.seconds) best = r;
  }
  return best!;
}
