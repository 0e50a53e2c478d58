// `npm run bench`: warden end to end on a Docker json-file tree, against plain Node's
// read+split+JSON.parse on the same files in the same run, and against Fluent Bit / fluentd where
// installed. Prints a table and writes bench/results.md (machine, versions, date).
//
//   npm run bench -- [--mib 256] [--tree DIR] [--quick] [--only baseline,drain,latency,idle,pickup,others,pod]
//                    [--cpu-prof DIR] [--results FILE] [--keep] [--pod-mib N] [--runtime binary|node]
//   npm run bench -- --only pod --baseline DIR [--rounds 4]   (before/after: DIR's warden against this one's)
//
// Sections: baseline (Node ceiling), drain (backlog → every line acked: lines/s, MiB/s,
// CPU-s per million lines, peak RSS), latency (steady 10k lines/s, write → sink p50/p99 and the
// ack-latency histogram), idle (1,000 quiet files), pickup (10,000 new files), others
// (fluent-bit, fluentd), pod (the deployment: warden + fluentd in the seed's 200m/200Mi cgroup
// beside fluentd alone and Fluent Bit alone, scripts/bench/pod.ts). Each is bounded in time; one
// that fails shows its error as a row.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describeMachine, type Machine } from './bench/machine.js';
import { baselineCheckout, benchRuntime, parseBenchArgs, SECTIONS, type BenchOptions, type Section } from './bench/options.js';
import type { HotFunction } from './bench/profile.js';
import { consoleTable, markdown } from './bench/report.js';
import type { Row } from './bench/row.js';
import {
  baselineSection,
  drainSection,
  idleSection,
  latencySection,
  othersSection,
  pickupSection,
  podBenchSection,
  profileSection,
  sectionSizes,
  type BenchContext,
} from './bench/sections.js';
import { findDockerFiles, generateDockerTree, warmAndCount, type DockerTree } from './bench/tree.js';
import { prepareCheckout, ROOT, selectRuntime, THIS_CHECKOUT, WARDEN } from './bench/warden.js';

export { SECTIONS, type BenchOptions, type Section } from './bench/options.js';

export interface BenchReport {
  machine: Machine;
  rows: Row[];
  table: string;
  markdown: string;
  profile: { file: string; totalMs: number; top: HotFunction[] } | null;
}

const MiB = 1048576;

/** The drain's tree: generated in the temp dir, or reused / generated and kept under --tree. */
function drainTree(opts: BenchOptions, work: string, mib: number, log: (l: string) => void): DockerTree {
  const root = opts.tree ? resolve(opts.tree) : join(work, 'tree');
  let files = findDockerFiles(root);
  if (files.length === 0) {
    log(`generating a ${mib} MiB Docker json-file tree in ${root}`);
    files = generateDockerTree(root, mib * MiB).files;
  } else log(`reusing ${files.length} files under ${root}`);
  const tree = warmAndCount(root, files); // reads it once: warm page cache
  log(`tree: ${tree.files.length} files, ${tree.lines} lines, ${(tree.bytes / MiB).toFixed(1)} MiB`);
  return tree;
}

/** The selected sections in order, into `c.rows`. */
async function runSections(c: BenchContext, only: Set<Section>, mib: number): Promise<void> {
  const needTree = only.has('baseline') || only.has('drain') || only.has('others');
  const tree = needTree ? drainTree(c.opts, c.work, mib, c.log) : null;
  c.treeNote = tree ? `${tree.lines.toLocaleString('en-US')} lines, ${(tree.bytes / MiB).toFixed(0)} MiB, ${tree.files.length} files` : '';
  if (only.has('baseline') && tree) await baselineSection(c, tree);
  if (only.has('drain') && tree) await drainSection(c, tree);
  if (c.opts.cpuProfDir && tree) await profileSection(c, tree, c.opts.cpuProfDir);
  if (only.has('latency')) await latencySection(c);
  if (only.has('idle')) await idleSection(c);
  if (only.has('pickup')) await pickupSection(c);
  if (only.has('others') && tree) await othersSection(c, tree);
  if (only.has('pod')) await podBenchSection(c);
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const quick = opts.quick === true;
  const only = new Set<Section>(opts.only ?? SECTIONS);
  const mib = opts.mib ?? (quick ? 4 : 256);
  if (!existsSync(WARDEN)) throw new Error(`${WARDEN} not found: run \`npm run build\` first`);
  const runtime = benchRuntime(opts);
  selectRuntime(runtime);
  const beforeAfter = opts.baseline ? { checkout: baselineCheckout(opts.baseline.dir, runtime), rounds: opts.baseline.rounds } : undefined;
  prepareCheckout(THIS_CHECKOUT, log);
  if (beforeAfter) prepareCheckout(beforeAfter.checkout, log);
  const machine = describeMachine(THIS_CHECKOUT);
  const work = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const c: BenchContext = {
    opts,
    log,
    quick,
    judge: (ok) => (quick ? null : ok),
    sizes: sectionSizes(quick),
    work,
    treeNote: '',
    beforeAfter,
    rows: [],
    parseBase: null,
    drained: null,
    profile: null,
  };
  try {
    await runSections(c, only, mib);
  } finally {
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  const { rows, profile } = c;

  const settings = [
    quick ? 'quick' : 'full',
    `--mib ${mib}`,
    opts.tree ? `--tree ${opts.tree}` : '',
    opts.only ? `--only ${[...only].join(',')}` : '',
    opts.podMib ? `--pod-mib ${opts.podMib}` : '',
    opts.baseline ? `--baseline ${opts.baseline.dir} --rounds ${opts.baseline.rounds}` : '',
    `--runtime ${runtime}`,
  ]
    .filter(Boolean)
    .join(' ');
  const table = consoleTable(rows);
  const md = markdown(machine, rows, settings, profile);
  const results = opts.results ?? join(ROOT, 'bench/results.md');
  mkdirSync(dirname(results), { recursive: true });
  writeFileSync(results, md);
  return { machine, rows, table, markdown: md, profile };
}

async function main(): Promise<number> {
  const report = await runBench(parseBenchArgs(process.argv.slice(2)));
  const m = report.machine;
  process.stdout.write(`\n${m.warden} · Node ${m.node} · ${m.nproc} × ${m.cpuModel} · ${m.memoryMiB} MiB · ${m.date}\n\n${report.table}\n`);
  if (report.profile) {
    process.stdout.write(`\nwarden CPU profile (${report.profile.file}), top self time of ${(report.profile.totalMs / 1000).toFixed(1)} s:\n`);
    for (const f of report.profile.top) process.stdout.write(`${f.selfMs.toFixed(0).padStart(8)} ms ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.where}\n`);
  }
  return 0;
}

if (process.argv[1] && /scripts\/bench\.(ts|js|mjs)$/.test(process.argv[1])) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bench: ${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}
