// Batching and wake-ups of the tail pipeline over real temp files with an in-memory acking sender
// (a fake for the Forward client): writes inside one flush interval, changed files read once per
// flush tick, a chatty writer's directory resting between ticks, and the bound on bytes held in
// open batches across many tags.
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

let metrics = createMetrics({ defaults: false });

async function start(tail: Record<string, unknown>, forward: Record<string, unknown>) {
  const sender = new MemorySender();
  const config = tailConfig(join(tree.root, 'state'), [tree.logDir], [{ name: 'host', paths: [join(tree.logDir, '*.log')], format: 'plain' }], tail, forward);
  metrics = createMetrics({ defaults: false });
  const p = new TailPipeline({ config, sender, logger: captureLogger().logger, metrics, host: 'h' });
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
      // The second write lands inside the flush interval the first one's change event began.
      appendFileSync(f, `r${round}-a\n`);
      await sleep(10); // the scenario: a second burst 10 ms after the first
      appendFileSync(f, `r${round}-b\n`);
      n += 2;
      await waitFor(`round ${round}: both bursts`, () => sender.got.length >= n, 1000);
      await sleep(150); // the scenario: silence between rounds
    }
    expect(sender.logs()).toEqual(['probe', ...Array.from({ length: 5 }, (_, r) => [`r${r}-a`, `r${r}-b`]).flat()]);
  });

  it('steady writers: changed files are read once per flush tick, not at every write nor at the change that began it', async () => {
    const files = ['a', 'b', 'c', 'd'].map((n) => join(tree.logDir, `${n}.log`));
    for (const f of files) appendFileSync(f, '');
    const flushMs = 200;
    const sender = await start({ rescan_interval_ms: 60_000 }, { flush_interval_ms: flushMs });
    for (const f of files) appendFileSync(f, 'probe\n');
    await waitFor('the probe lines', () => sender.got.length >= files.length);
    const t0 = performance.now();
    let writes = 0;
    // The scenario: each file gets a line every 10 ms for a second (a writer flushing often).
    while (performance.now() - t0 < 1000) {
      for (const f of files) appendFileSync(f, `w${writes}\n`);
      writes++;
      await sleep(10);
    }
    const elapsed = performance.now() - t0;
    await waitFor('every line', () => sender.got.length >= files.length * (writes + 1), 5000);
    // Records of one read share its clock reading: distinct stamps per tag count the reads.
    const reads = new Map<string, Set<string>>();
    for (const g of sender.got) {
      if (g.record.log === 'probe') continue;
      const set = reads.get(g.tag) ?? new Set<string>();
      set.add(`${g.sec}.${g.nsec}`);
      reads.set(g.tag, set);
    }
    expect(reads.size).toBe(files.length);
    // A change arms the tick and reads nothing: one read per tick (a read when a quiet file
    // changed and another at the tick would be about 2 per tick; one per write, 100).
    const bound = Math.ceil(elapsed / flushMs) + 1;
    for (const [tag, set] of reads) expect(set.size, tag).toBeLessThanOrEqual(bound);
  });

  it('a chatty writer (one write per line) rests its directory\'s watch, and nothing in that directory waits for a rescan', async () => {
    const busy = join(tree.logDir, 'busy.log');
    const quiet = join(tree.logDir, 'quiet.log');
    appendFileSync(busy, '');
    appendFileSync(quiet, '');
    const sender = await start({ rescan_interval_ms: 60_000 }, { flush_interval_ms: 200 });
    appendFileSync(busy, 'probe\n');
    await waitFor('the probe line', () => sender.got.length >= 1);
    // The scenario: 2,000 lines, each its own write, as a container runtime writes them; a quiet
    // file in the same directory gets one line and a new file appears while the writer runs.
    for (let i = 0; i < 2000; i++) {
      appendFileSync(busy, `b${i}\n`);
      if (i === 700) appendFileSync(quiet, 'q0\n');
      if (i === 1200) appendFileSync(join(tree.logDir, 'born.log'), 'n0\n');
      if (i % 50 === 49) await sleep(5);
    }
    const last = performance.now();
    await waitFor('every line', () => sender.got.length >= 2003, 5000);
    // Each was read at a flush tick (or the rest's end) after it was written: a rescan is a minute away.
    expect(performance.now() - last).toBeLessThan(3000);
    // The directory did rest: its writes stopped waking the pipeline one by one.
    expect((await metrics.watchRests.get()).values[0]?.value ?? 0).toBeGreaterThan(0);
    const logs = sender.logs();
    expect(logs.filter((l) => l.startsWith('b'))).toEqual(Array.from({ length: 2000 }, (_, i) => `b${i}`));
    expect(logs).toContain('q0');
    expect(logs).toContain('n0');
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
