// The tail pipeline's two clocks, over a real temp tree with an in-memory acking sender (a fake for
// the Forward client): the wall clock (injected, stepped here) stamps records; every timeout runs
// on the monotonic clock, so a wall-clock step gives nothing up.
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../agent/health/metrics.js';
import { TailPipeline } from '../../../agent/tail/pipeline.js';
import { captureLogger, counter, waitFor } from '../../support/index.js';
import { MemorySender, tailConfig } from '../../support/tail.js';

let root: string;
let logDir: string;
let p: TailPipeline | null = null;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warden-clock-'));
  logDir = join(root, 'log');
  mkdirSync(logDir);
});
afterEach(async () => {
  await p?.stop();
  p = null;
  rmSync(root, { recursive: true, force: true });
});

const write = (path: string, from: number, to: number) =>
  appendFileSync(path, Array.from({ length: to - from }, (_, i) => `r-${from + i}\n`).join(''));

describe('tail clocks (in-memory acking sender)', () => {
  it('a rotated file is not given up when the wall clock steps 5 minutes forward; records carry the stepped wall time', async () => {
    const f = join(logDir, 'app.log');
    write(f, 0, 3);
    let step = 0;
    const sender = new MemorySender();
    const metrics = createMetrics({ defaults: false });
    const config = tailConfig(join(root, 'state'), [logDir], [{ name: 'host', paths: [join(logDir, '*.log')], format: 'plain' }], { rotated_keep_s: 60 });
    p = new TailPipeline({ config, sender, logger: captureLogger().logger, metrics, host: 'h', now: () => Date.now() + step });
    await p.start();
    await waitFor('first lines', () => sender.got.length >= 3);
    p.pause();
    write(f, 3, 10);
    renameSync(f, f + '.1');
    write(join(logDir, 'app.log'), 100, 101);
    await waitFor('the rename seen as a rotation', () => p!.files().some((x) => x.state === 'rotated'));
    step = 5 * 60 * 1000;
    // Housekeeping runs every 50 ms here: many ticks see the stepped wall clock.
    await new Promise((r) => setTimeout(r, 500));
    expect(await counter(metrics.bytesLost)).toBe(0);
    expect(p.files().some((x) => x.state === 'rotated')).toBe(true);
    p.resume();
    const want = Array.from({ length: 7 }, (_, i) => `r-${i + 3}`).concat('r-100');
    await waitFor('the rotated file drained and the new one read', () => want.every((l) => sender.logs().includes(l)));
    expect(await counter(metrics.bytesLost)).toBe(0);
    const stamped = sender.got.find((g) => g.record.log === 'r-100')!;
    expect(stamped.sec).toBeGreaterThanOrEqual(Math.floor((Date.now() + step) / 1000) - 60);
  });
});
