// A steady live writer into the warden pod (shipped defaults): `rate` lines/s spread over
// `files` live files, `warmupS` at that rate first and then `seconds` measured, and warden's (and
// fluentd's) average CPU over the measured window, the warm-up's and each quarter's apart.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../gen-logs.js';
import type { PodCgroup } from '../cgroup.js';
import { containerId, linkContainers, makeLine, newContainerFile, type DockerTree } from '../tree.js';
import { GiveUp, sleep, waitFor } from '../warden.js';
import { inPod, startRow } from './run.js';
import type { PodEnv } from './setup.js';

export interface SteadyOptions {
  rate: number;
  /** The measured window. */
  seconds: number;
  files: number;
  /** Written at the same rate before the measured window (V8 still optimizing warden's hot paths), measured apart. */
  warmupS: number;
}

export interface SteadyResult {
  rate: number;
  seconds: number;
  /** warden's average CPU over the measured window, millicores. */
  wardenMillicores: number;
  fluentdMillicores: number | null;
  /** warden's average CPU over the warm-up, millicores (null without one). */
  warmupMillicores: number | null;
  /** warden's average CPU in each quarter of the measured window, millicores. */
  quarters: Array<number | null>;
  /** Lines written (warm-up included) and delivered of them. */
  delivered: number;
  written: number;
}

/** The warden pod (shipped defaults) tailing `files` live files that get `rate` lines/s for `warmupS` + `seconds`. */
export function steadyPod(env: PodEnv, opts: SteadyOptions): Promise<SteadyResult> {
  return inPod(env, 'steady', (env, pod, dir) => measureSteady(env, pod, dir, opts));
}

async function measureSteady(env: PodEnv, pod: PodCgroup, dir: string, opts: SteadyOptions): Promise<SteadyResult> {
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
      // A program of the pod that exited will not deliver: stop waiting (waitFor retries other errors).
      const failed = row.failed();
      if (failed) throw new GiveUp(failed);
      return (await row.delivered()) >= opts.files;
    },
    120_000,
    200,
  );
  const before = await row.delivered();
  const t0 = performance.now();
  const total = opts.warmupS + opts.seconds;
  // CPU marks at the end of the warm-up and of each quarter of the measured window.
  const bounds = [opts.warmupS, ...[1, 2, 3, 4].map((q) => opts.warmupS + (opts.seconds * q) / 4)];
  const marks: Array<{ at: number; cpu: ReturnType<typeof row.cpu> }> = [{ at: t0, cpu: row.cpu() }];
  let written = 0;
  for (;;) {
    const elapsed = (performance.now() - t0) / 1000;
    while (marks.length <= bounds.length && elapsed >= bounds[marks.length - 1]!) marks.push({ at: performance.now(), cpu: row.cpu() });
    if (elapsed >= total) break;
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
  const milli = (from: number, to: number, who: 'warden' | 'fluentd'): number | null => {
    const a = marks[from]!;
    const b = marks[to]!;
    const x = a.cpu[who];
    const y = b.cpu[who];
    const ms = b.at - a.at;
    return x === null || y === null || ms < 1 ? null : ((y - x) / (ms / 1000)) * 1000;
  };
  const last = marks.length - 1;
  let delivered = 0;
  await waitFor('the steady lines delivered', async () => (delivered = (await row.delivered()) - before) >= written, 60_000, 200).catch(() => undefined);
  return {
    rate: opts.rate,
    seconds: (marks[last]!.at - marks[1]!.at) / 1000,
    wardenMillicores: milli(1, last, 'warden')!,
    fluentdMillicores: milli(1, last, 'fluentd'),
    warmupMillicores: opts.warmupS > 0 ? milli(0, 1, 'warden') : null,
    quarters: [1, 2, 3, 4].map((q) => milli(q, q + 1, 'warden')),
    delivered,
    written,
  };
}
