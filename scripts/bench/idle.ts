// Idle cost: many quiet files (one line each, read once), then warden's CPU and RSS while
// nothing is written. No scrapes during the window: they would be the only work warden does.
// The window starts after a settle time: the first seconds after the initial read still carry
// V8's shrinking of the heap that read grew, which is start-up cost, not idle cost. It spans a
// full rescan (every FULL_SCAN_EVERY × rescan_interval_ms = 30 s).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../gen-logs.js';
import { cpuSeconds, memoryMiB } from './proc.js';
import type { Scope } from './row.js';
import { containerId, DOCKER_DIR, dockerGlob, makeLine, newContainerFile } from './tree.js';
import { metricSum, sleep, startWarden, waitFor, waitReady } from './warden.js';

export interface IdleResult {
  files: number;
  cpuPercent: number;
  rssMiB: number;
  anonMiB: number;
  fileMiB: number;
  openFiles: number;
}

export async function idle(scope: Scope, dir: string, files: number, seconds: number, settleS: number, nodeFlags: string[] = []): Promise<IdleResult> {
  const root = join(dir, 'logs');
  const r = rng(7);
  for (let i = 0; i < files; i++) writeFileSync(newContainerFile(root, containerId(r)), makeLine(r, `idle${i}`, 0, 1_780_000_000_000_000_000n));
  const w = await startWarden({ dir, globs: [dockerGlob(root)], roots: [join(root, DOCKER_DIR)], readFrom: 'head', nodeFlags });
  scope.defer(() => w.stop());
  await waitReady(w);
  let open = 0;
  await waitFor(
    `all ${files} idle lines acked`,
    async () => {
      const m = await w.metrics();
      open = metricSum(m, 'warden_tail_open_files');
      return metricSum(m, 'warden_forward_records_acked_total') >= files;
    },
    60_000,
    200,
  );
  await sleep(settleS * 1000);
  const c0 = cpuSeconds(w.pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c1 = cpuSeconds(w.pid);
  const t1 = performance.now();
  const mem = memoryMiB(w.pid);
  if (c0 === null || c1 === null || !mem) throw new Error(`warden exited while idle: ${w.output().slice(-400)}`);
  return { files, cpuPercent: ((c1 - c0) / ((t1 - t0) / 1000)) * 100, rssMiB: mem.rss, anonMiB: mem.anon, fileMiB: mem.file, openFiles: open };
}
