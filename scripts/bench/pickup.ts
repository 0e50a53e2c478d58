// Pick-up: warden runs over an empty containers directory; the bench creates many new container
// files of one line each, as fast as it can; measured from the first file created until every
// line is acked. `read_from: end` (the default) must not apply to files that appear later.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../gen-logs.js';
import type { Scope } from './row.js';
import { containerId, DOCKER_DIR, dockerGlob, makeLine, newContainerFile } from './tree.js';
import { metricSum, sleep, startWarden, waitReady } from './warden.js';

export interface PickupResult {
  files: number;
  createSeconds: number;
  seconds: number;
}

export async function pickup(scope: Scope, dir: string, files: number, timeoutMs: number): Promise<PickupResult> {
  const root = join(dir, 'logs');
  mkdirSync(join(root, DOCKER_DIR), { recursive: true });
  const w = await startWarden({ dir, globs: [dockerGlob(root)], roots: [join(root, DOCKER_DIR)], readFrom: 'end' });
  scope.defer(() => w.stop());
  await waitReady(w);
  await sleep(1000); // past the first scan, so every file below is new to a running warden
  const r = rng(11);
  const start = performance.now();
  for (let i = 0; i < files; i++) writeFileSync(newContainerFile(root, containerId(r)), makeLine(r, `new${i}`, 0, 1_780_000_000_000_000_000n));
  const created = performance.now();
  let acked = 0;
  for (;;) {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null) throw new Error(`warden exited during pick-up: ${w.output().slice(-400)}`);
    acked = metricSum(await w.metrics(), 'warden_forward_records_acked_total');
    if (acked >= files) break;
    if (performance.now() - start > timeoutMs) throw new Error(`pick-up: ${acked} of ${files} new files' lines acked after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(100);
  }
  return { files, createSeconds: (created - start) / 1000, seconds: (performance.now() - start) / 1000 };
}
