// Batching and wake-ups of the tail pipeline over real temp files with an in-memory acking sender
// (a fake for the Forward client): writes inside one change window, and the bound
// on bytes held in open batches across many tags.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { captureLogger, sleep, waitFor } from '../support/index.js';
import { MemorySender, tailConfig, tailTree } from '../support/tail.js';

const tree = tailTree('warden-tail-batching-');
const running: TailPipeline[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

async function start(tail: Record<string, unknown>, forward: Record<string, unknown>) {
  const sender = new MemorySender();
  const config = tailConfig(join(tree.root, 'state'), [tree.logDir], [{ name: 'host', paths: [join(tree.logDir, '*.log')], format: 'plain' }], tail, forward);
  const p = new TailPipeline({ config, sender, logger: captureLogger().logger, metrics: createMetrics({ defaults: false }), host: 'h' });
  running.push(p);
  await p.start();
  return sender;
}

describe('tail pipeline batching (in-memory acking sender)', () => {
  it('two bursts 10 ms apart, then silence: all lines arrive within 1 s with no rescan to help', async () => {
    const f = join(tree.logDir, 'app.log');
    appendFileSync(f, '');
    const sender = await start({ rescan_interval_ms: 60_000 }, {});
    // A first line that arrives proves the file is watched: the rescan is a minute away.
    appendFileSync(f, 'probe\n');
    await waitFor('the probe line', () => sender.got.length >= 1);
    let n = 1;
    for (let round = 0; round < 5; round++) {
      // The second write lands inside the change window the first one opened (CHANGE_COALESCE_MS).
      appendFileSync(f, `r${round}-a\n`);
      await sleep(10); // the scenario: a second burst 10 ms after the first
      appendFileSync(f, `r${round}-b\n`);
      n += 2;
      await waitFor(`round ${round}: both bursts`, () => sender.got.length >= n, 1000);
      await sleep(150); // the scenario: silence between rounds
    }
    expect(sender.logs()).toEqual(['probe', ...Array.from({ length: 5 }, (_, r) => [`r${r}-a`, `r${r}-b`]).flat()]);
  });

  it('open batches of many tags together hold at most forward.batch_max_bytes: the biggest are sent', async () => {
    const files = 20;
    const perFile = 5;
    const line = (i: number, j: number) => `f${i}-${j}-` + 'x'.repeat(90);
    for (let i = 0; i < files; i++) appendFileSync(join(tree.logDir, `f${i}.log`), Array.from({ length: perFile }, (_, j) => line(i, j) + '\n').join(''));
    // Each tag's batch (~5 × 130 bytes) stays below batch_max_bytes and the flush interval is a
    // minute away: only the bound on their sum sends them.
    const sender = await start({ rescan_interval_ms: 60_000 }, { batch_max_bytes: 1024, batch_max_records: 10_000, flush_interval_ms: 60_000 });
    const total = files * perFile;
    // What may stay open: under 1024 bytes, fewer than 8 records of this size.
    await waitFor(`all but the last 1 KiB of ${total} records`, () => sender.got.length >= total - 8, 5000);
    expect(new Set(sender.got.map((g) => g.tag)).size).toBeGreaterThan(10);
  });
});
