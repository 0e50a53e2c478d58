// A steady live writer into the warden pod (shipped defaults): `rate` lines/s spread over
// `files` live files for `seconds`, and warden's (and fluentd's) average CPU over that window.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../gen-logs.js';
import type { PodCgroup } from '../cgroup.js';
import { containerId, linkContainers, makeLine, newContainerFile, type DockerTree } from '../tree.js';
import { sleep, waitFor } from '../warden.js';
import { inPod, startRow } from './run.js';
import type { PodEnv } from './setup.js';

export interface SteadyResult {
  rate: number;
  seconds: number;
  /** warden's average CPU over the window, millicores. */
  wardenMillicores: number;
  fluentdMillicores: number | null;
  delivered: number;
  written: number;
}

/** The warden pod (shipped defaults) tailing `files` live files that get `rate` lines/s for `seconds`. */
export function steadyPod(env: PodEnv, opts: { rate: number; seconds: number; files: number }): Promise<SteadyResult> {
  return inPod(env, 'steady', (env, pod, dir) => measureSteady(env, pod, dir, opts));
}

async function measureSteady(env: PodEnv, pod: PodCgroup, dir: string, opts: { rate: number; seconds: number; files: number }): Promise<SteadyResult> {
  const root = join(dir, 'logs');
  const r = rng(7);
  const files: string[] = [];
  for (let i = 0; i < opts.files; i++) files.push(newContainerFile(root, containerId(r)));
  const fds = files.map((f) => openSync(f, 'a'));
  env.scope.defer(() => fds.forEach((fd) => closeSync(fd)));
  const tree: DockerTree = { root, files, lines: Number.MAX_SAFE_INTEGER, bytes: 0 };
  linkContainers(tree);
  const row = await startRow('warden', { ...env, tree, containersGlob: '' }, pod, dir);
  // Ready once one line per file came through: reading, child and receiver all up.
  fds.forEach((fd, i) => writeSync(fd, makeLine(r, `pre${i}`, 0, BigInt(Date.now()) * 1_000_000n)));
  await waitFor(
    'the warden pod delivering',
    async () => {
      const failed = row.failed();
      if (failed) throw new Error(failed);
      return (await row.delivered()) >= opts.files;
    },
    120_000,
    200,
  );
  const before = await row.delivered();
  const cpu0 = row.cpu();
  const t0 = performance.now();
  let written = 0;
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed >= opts.seconds) break;
    const due = Math.floor(elapsed * opts.rate) - written;
    if (due > 0) {
      const ns = BigInt(Date.now()) * 1_000_000n;
      const per: string[][] = fds.map(() => []);
      for (let i = 0; i < due; i++) per[(written + i) % fds.length]!.push(makeLine(r, 'steady', written + i, ns));
      per.forEach((lines, i) => lines.length && writeSync(fds[i]!, lines.join('')));
      written += due;
    }
    await sleep(20);
  }
  const cpu1 = row.cpu();
  const window = (performance.now() - t0) / 1000;
  const milli = (a: number | null, b: number | null) => (a === null || b === null ? null : ((a - b) / window) * 1000);
  let delivered = 0;
  await waitFor('the steady lines delivered', async () => (delivered = (await row.delivered()) - before) >= written, 60_000, 200).catch(() => undefined);
  return { rate: opts.rate, seconds: window, wardenMillicores: milli(cpu1.warden, cpu0.warden)!, fluentdMillicores: milli(cpu1.fluentd, cpu0.fluentd), delivered, written };
}
