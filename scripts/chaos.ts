// Soak and chaos run (issue 15 item 6's scenario): ~3,000 lines/s into one CRI file behind its
// /var/log/containers symlink (kubelet rotation, 0.log → 0.log.<ts>) and one Docker file
// (-json.log → .1, older ones shifted), each rotated every 512 KiB and rotated files never
// deleted, while the child is kill -9'd every ~4 s and warden itself is kill -9'd once (at 12 s)
// and restarted 5 s later, while the files rotate unseen. warden runs with the shipped defaults
// (chaosConfig): writing begins once its first scan found the live files, since lines written
// before that are history to a first start with `tail.read_from: end`, as on a real node. At the
// end the sink's output is checked against a
// ledger of every line written: lost must be 0; duplicates are reported. warden's RSS and open
// descriptors are sampled over time and must not grow once steady. Descriptors on the log files
// are counted apart: a rotated file is held open until it is drained, so they rise with the
// backlog; once everything is delivered they must fall back to one per live file.
//
//   npm run chaos -- --minutes 2 [--rate 3000] [--seed 1] [--dir D]
//
// Exit 0 when nothing was lost and nothing grew; 1 otherwise.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { injectFaults } from './chaos/faults.js';
import { growth } from './chaos/growth.js';
import { awaitDelivery, tally } from './chaos/ledger.js';
import { chaosConfig, makeSources, type Source } from './chaos/node.js';
import { sample, settledLogFds, type Sample } from './chaos/probe.js';
import { formatChaos, type ChaosResult } from './chaos/report.js';
import { ChaosWarden } from './chaos/warden.js';
import { Writer } from './chaos/writer.js';
import { freePort, rng } from './lib/util.js';

export { formatChaos, type ChaosResult };

const ROOT = resolve(import.meta.dirname, '..');
const WARDEN = join(ROOT, 'dist/warden.mjs');
/** How long the sink may take to receive the backlog once writing stopped (drain), and rotated files to be closed after it (settle). */
const WAIT_MS = { drain: 90_000, settle: 15_000 };

export interface ChaosOptions {
  minutes: number;
  rate: number;
  seed: number;
  dir?: string;
  log?: (s: string) => void;
}

interface Run {
  dir: string;
  node: string;
  out: string;
  sources: Source[];
  warden: ChaosWarden;
  writer: Writer;
  samples: Sample[];
  forwardPort: number;
  t0: number;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`chaos: ${s}\n`));
  const r = rng(opts.seed);
  const run = await setUp(opts, r);
  const { dir, node, sources, warden, writer, samples } = run;
  warden.start();
  await warden.tailing(sources.length, 60_000);
  const t0 = (run.t0 = Date.now());
  log(`dir ${dir}; ${opts.minutes} min at ~${opts.rate} lines/s`);
  writer.start();
  const sampler = setInterval(() => {
    const pid = warden.livePid();
    if (pid) samples.push(sample(pid, Date.now() - t0, warden.instance, node));
  }, 1000);
  const actions = await injectFaults({ warden, forwardPort: run.forwardPort, t0, deadline: t0 + opts.minutes * 60_000, r, log });
  writer.stop();
  log(`writing stopped: ${writer.written} lines; draining`);

  const want = new Map(sources.map((s) => [s.key, s.seq]));
  const delivered = await awaitDelivery(run.out, want, WAIT_MS.drain);
  clearInterval(sampler);
  const live = sources.length;
  const held = await settledLogFds(() => warden.proc?.pid, node, live, WAIT_MS.settle);
  const restartsByReason = await warden.restartsByReason();
  await warden.stop();

  const t = tally(want, delivered);
  const g = growth(samples, { held, live });
  const result: ChaosResult = {
    seconds: Math.round((Date.now() - t0) / 1000),
    written: writer.written,
    delivered: t.deliveredUnique,
    lost: t.lost,
    duplicates: t.duplicates,
    lostExamples: t.lostExamples,
    actions,
    rotations: writer.rotations,
    restartsByReason,
    ...g,
    ok: t.lost === 0 && !g.grew,
  };
  if (!opts.dir && result.ok) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir} (warden.log, out.ndjson, state/)`);
  return result;
}

/** The node tree, warden's config and the collaborators of one run; nothing started yet. */
async function setUp(opts: ChaosOptions, r: () => number): Promise<Run> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'warden-chaos-'));
  const node = join(dir, 'node');
  const out = join(dir, 'out.ndjson');
  const ports = { health: await freePort(), forward: await freePort() };
  const sources = makeSources(node, r);
  const cfgPath = join(dir, 'warden.yaml');
  writeFileSync(cfgPath, stringify(chaosConfig(dir, node, ports, out)));
  const warden = new ChaosWarden(WARDEN, dir, cfgPath, ports.health);
  return { dir, node, out, sources, warden, writer: new Writer(sources, opts.rate, r), samples: [], forwardPort: ports.forward, t0: 0 };
}

if (process.argv[1] && /chaos\.(ts|js|mjs)$/.test(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '2' },
      rate: { type: 'string', default: '3000' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      dir: { type: 'string' },
    },
  });
  if (!existsSync(WARDEN)) {
    process.stderr.write(`chaos: ${WARDEN} is missing; run npm run build first\n`);
    process.exit(2);
  }
  const res = await runChaos({ minutes: Number(values.minutes), rate: Number(values.rate), seed: Number(values.seed), dir: values.dir });
  process.stdout.write(`chaos run, seed ${values.seed}\n` + formatChaos(res));
  process.exit(res.ok ? 0 : 1);
}
