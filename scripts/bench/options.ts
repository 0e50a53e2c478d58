// `npm run bench` options: the sections, what runBench takes, and the command line parsed into it
// (bad values are errors naming the option).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkoutAt, RUNTIMES, type Checkout, type Runtime } from './warden.js';

export const SECTIONS = ['baseline', 'drain', 'latency', 'idle', 'pickup', 'others', 'pod'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  /** Size of the generated tree; default 256 (4 with quick). */
  mib?: number;
  /** Reuse (or generate and keep) the tree under this directory. */
  tree?: string;
  /** Small sizes and short windows, for the smoke test; targets are not judged. */
  quick?: boolean;
  only?: Section[];
  /** Where to write the markdown; default bench/results.md. */
  results?: string;
  /** Also profile warden during an extra drain and summarise it (node --cpu-prof into DIR). */
  cpuProfDir?: string;
  /** Keep the temp dir. */
  keep?: boolean;
  /** Size of the pod section's tree; default 41.5 (0.25 with quick). */
  podMib?: number;
  /** Before/after in the pod section: the warden of the checkout at `dir` against this one's, `rounds` each. */
  baseline?: { dir: string; rounds: number };
  /** What warden runs as: the single executable (default; built from each checkout's sources first) or node on dist/warden.mjs (default with cpuProfDir). */
  runtime?: Runtime;
  log?: (line: string) => void;
}

/** The checkout at `dir` as a baseline, run as `runtime`; throws naming what is missing. */
export function baselineCheckout(dir: string, runtime: Runtime): Checkout {
  if (!existsSync(join(resolve(dir), 'package.json'))) throw new Error(`--baseline: ${resolve(dir)} is not a checkout of warden (no package.json)`);
  const c = checkoutAt(resolve(dir), runtime);
  if (!existsSync(c.program)) throw new Error(`--baseline: ${c.program} not found: run \`npm run build\` in ${c.root} first`);
  return c;
}

/** The runtime a bench with `opts` runs warden as; throws when it cannot serve them. */
export function benchRuntime(opts: Pick<BenchOptions, 'runtime' | 'cpuProfDir'>): Runtime {
  if (opts.runtime === 'binary' && opts.cpuProfDir) throw new Error('--cpu-prof: needs --runtime node (the profile is mapped back to the sources through dist/warden.mjs.map)');
  return opts.runtime ?? (opts.cpuProfDir ? 'node' : 'binary');
}

function parseRuntime(v: string | undefined): Runtime | undefined {
  if (v === undefined) return undefined;
  if (!(RUNTIMES as readonly string[]).includes(v)) throw new Error(`--runtime: must be one of ${RUNTIMES.join(', ')} (got ${JSON.stringify(v)})`);
  return v as Runtime;
}

/** A positive number from option `name`, or undefined when absent. */
function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--${name}: must be a positive number (got ${JSON.stringify(v)})`);
  return n;
}

function parseOnly(v: string | undefined): Section[] | undefined {
  if (!v) return undefined;
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`--only: unknown section ${JSON.stringify(n)} (sections: ${SECTIONS.join(', ')})`);
  return names as Section[];
}

/** `npm run bench -- …` as runBench options. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      mib: { type: 'string' },
      tree: { type: 'string' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      results: { type: 'string' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
      'pod-mib': { type: 'string' },
      baseline: { type: 'string' },
      rounds: { type: 'string' },
      runtime: { type: 'string' },
    },
  });
  const rounds = positive('rounds', values.rounds) ?? 4;
  if (!Number.isInteger(rounds)) throw new Error(`--rounds: must be a whole number (got ${JSON.stringify(values.rounds)})`);
  if (values.rounds !== undefined && !values.baseline) throw new Error('--rounds: only with --baseline DIR');
  return {
    mib: positive('mib', values.mib),
    podMib: positive('pod-mib', values['pod-mib']),
    baseline: values.baseline ? { dir: values.baseline, rounds } : undefined,
    tree: values.tree,
    quick: values.quick,
    only: parseOnly(values.only),
    results: values.results,
    cpuProfDir: values['cpu-prof'],
    keep: values.keep,
    runtime: parseRuntime(values.runtime),
  };
}
