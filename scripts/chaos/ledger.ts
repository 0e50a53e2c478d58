// The ledger check: the sink's output against every line written. A line is `<key>#<n>`; lost is
// a ledger line never delivered, duplicates are deliveries past the first.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { sleep } from '../lib/util.js';

export interface Tally {
  lost: number;
  duplicates: number;
  /** Ledger lines delivered at least once. */
  deliveredUnique: number;
  /** The first lost lines, at most 10. */
  lostExamples: string[];
}

/** How often each ledger line appears in the sink's output `out` (ndjson). */
export async function countDelivered(out: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  if (!existsSync(out)) return seen;
  const rl = createInterface({ input: createReadStream(out), crlfDelay: Infinity });
  for await (const line of rl) {
    const m = /"log":"(?:[^"]*? )?([a-z]+\d+#\d+) /.exec(line);
    if (m) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
  }
  return seen;
}

function countMissing(delivered: Map<string, number>, key: string, n: number): number {
  let missing = 0;
  for (let i = 0; i < n; i++) if (!delivered.has(`${key}#${i}`)) missing++;
  return missing;
}

/** Polls `out` until every line of `want` (key → lines written) is there or `timeoutMs` passed; returns the last count. */
export async function awaitDelivery(out: string, want: Map<string, number>, timeoutMs: number): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const delivered = await countDelivered(out);
    const missing = [...want].reduce((a, [k, n]) => a + countMissing(delivered, k, n), 0);
    if (missing === 0 || Date.now() > deadline) return delivered;
    await sleep(1000);
  }
}

export function tally(want: Map<string, number>, delivered: Map<string, number>): Tally {
  const t: Tally = { lost: 0, duplicates: 0, deliveredUnique: 0, lostExamples: [] };
  for (const [k, n] of want) {
    for (let i = 0; i < n; i++) {
      const c = delivered.get(`${k}#${i}`) ?? 0;
      if (c === 0) {
        t.lost++;
        if (t.lostExamples.length < 10) t.lostExamples.push(`${k}#${i}`);
      } else {
        t.deliveredUnique++;
        t.duplicates += c - 1;
      }
    }
  }
  return t;
}
