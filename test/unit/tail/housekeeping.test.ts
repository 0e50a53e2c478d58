// Housekeeping runs at the checkpoint interval (at most once a second), over a real temp tree with
// an in-memory acking sender (a fake for the Forward client): a file that keeps changing gets its
// checkpoint written about once per interval, never faster, and no tick is skipped because the
// timer fired a little before a full interval had passed.
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineScope, tailTree } from '../../support/tail.js';

const tree = tailTree('warden-house-');
const pipelines = pipelineScope(tree);

function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

describe('housekeeping at the checkpoint interval (in-memory acking sender)', () => {
  it('writes the checkpoint of a changing file once a second, not every other second and not faster', async () => {
    const log = join(tree.logDir, 'app.log');
    appendFileSync(log, 'first\n');
    const { sender } = await pipelines.start({
      inputs: [{ name: 'host', paths: [join(tree.logDir, '*.log')], format: 'plain' }],
      tail: { checkpoint_interval_ms: 1000, partial_flush_ms: 5000 },
    });
    const checkpoint = join(tree.stateDir, 'checkpoints.json');
    // Each write is a new file renamed into place: a new inode is a new write.
    const writes: number[] = [];
    let last = inode(checkpoint);
    let n = 0;
    const started = performance.now();
    while (performance.now() - started < 4500) {
      if (n % 5 === 0) appendFileSync(log, `line ${n}\n`);
      n++;
      await new Promise((r) => setTimeout(r, 10));
      const now = inode(checkpoint);
      if (now !== null && now !== last) {
        writes.push(performance.now());
        last = now;
      }
    }
    expect(sender.logs()).toContain('first');
    // 4.5 s of changes at a 1 s interval: 4 or 5 writes; 2 would mean every other tick skipped.
    expect(writes.length).toBeGreaterThanOrEqual(3);
    expect(writes.length).toBeLessThanOrEqual(5);
    const gaps = writes.slice(1).map((t, i) => t - writes[i]!);
    // Polled every 10 ms: a write 950 ms after the last (the tolerated timer jitter) shows as ≥ 900.
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(900);
  });
});
