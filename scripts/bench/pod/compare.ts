// Before/after in the same run: the warden pod (shipped config and defaults of each checkout)
// run with a baseline checkout's build and with this one's, alternately, `rounds` rounds each,
// on the same tree, receiver, fluentd and cgroup limits. Which side goes first in round i follows
// the Thue–Morse sequence (AB, BA, BA, AB, BA, AB, AB, BA, …): over 2^k rounds the slots each
// side holds have equal sums of their positions' powers up to k, so a drift of the machine over
// the run that is linear (2 rounds), quadratic (4) or cubic (8) weighs on both sides alike. Over
// 2 rounds the first and last slots both go to the baseline; over 4, one each. Each
// ratio row gives the medians' ratio and, in its note, each round's own after ÷ before: the two
// sides of a round ran back to back, so the spread of those ratios is the run's noise.
import { execFileSync } from 'node:child_process';
import type { Row } from '../row.js';
import { THIS_CHECKOUT, type Checkout } from '../warden.js';
import { podMillicores, podRate } from './rows.js';
import { runPod, type PodResult } from './run.js';
import type { PodEnv } from './setup.js';

interface Side {
  name: 'before' | 'after';
  checkout: Checkout;
  /** Each round's result, by round; undefined where that round failed. */
  rounds: Array<PodResult | undefined>;
  errors: string[];
}

const measured = (s: Side): PodResult[] => s.rounds.filter((r): r is PodResult => r !== undefined);

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `<root> @ <short commit>` (the commit where git can tell it). */
function describe(c: Checkout): string {
  try {
    return `${c.root} @ ${execFileSync('git', ['-C', c.root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}`;
  } catch {
    return c.root;
  }
}

function sideRow(side: Side, label: string): Row {
  const rates = measured(side).map(podRate);
  const each = measured(side).map((r) => {
    const m = podMillicores(r);
    const transitions = r.transitions.reduce((a, t) => a + t.count, 0);
    const delivered = `delivered ${r.delivered.toLocaleString('en-US')}/${r.expected.toLocaleString('en-US')}`;
    return `${Math.round(podRate(r)).toLocaleString('en-US')}/s, warden ${r.wardenCpuPerM?.toFixed(2) ?? '—'} CPU-s/M, fluentd ${r.fluentdCpuPerM?.toFixed(2) ?? '—'} CPU-s/M, ${r.recordsPerChunk?.toFixed(0) ?? '—'} records/chunk, pod ${m === null ? '—' : m.toFixed(0)}m, peak ${((r.stats.peakBytes ?? 0) / 1048576).toFixed(0)} MiB, OOM kills ${r.stats.oomKills ?? '—'}, ${delivered}, ${transitions} transitions`;
  });
  const errors = side.errors.map((e) => `failed: ${e}`);
  return { section: 'pod', metric: label, value: median(rates), unit: 'lines/s', note: [`median of ${rates.length}`, ...each, ...errors].join(' · ') };
}

/** after ÷ before of the medians of `of` over each side's rounds; the note adds each round's own ratio. */
function ratioRow(metric: string, before: Side, after: Side, of: (r: PodResult) => number | null, unit: string): Row {
  const med = (s: Side) => median(measured(s).map(of).filter((x): x is number => x !== null));
  const a = med(after);
  const b = med(before);
  const value = a === null || b === null || b === 0 ? null : a / b;
  if (value === null) return { section: 'pod', metric, value, unit: '×', note: 'a side has no measured round' };
  const perRound = after.rounds.map((r, i) => {
    const x = r && of(r);
    const y = before.rounds[i] && of(before.rounds[i]!);
    return x == null || !y ? '—' : (x / y).toFixed(2);
  });
  return { section: 'pod', metric, value, unit: '×', note: `medians ${a!.toFixed(2)} / ${b!.toFixed(2)} ${unit}; by round ${perRound.join(' · ')}` };
}

/**
 * The pods of a before/after run in the order they run: each round's two sides, `after` first
 * in round i (0-based) when i has an odd number of set bits (Thue–Morse).
 */
export function podOrder(rounds: number): Array<{ side: Side['name']; round: number }> {
  const order: Array<{ side: Side['name']; round: number }> = [];
  for (let round = 0; round < rounds; round++) {
    let bits = 0;
    for (let n = round; n > 0; n >>>= 1) bits += n & 1;
    const sides: Array<Side['name']> = bits % 2 === 1 ? ['after', 'before'] : ['before', 'after'];
    for (const side of sides) order.push({ side, round });
  }
  return order;
}

/** The before/after rows: each side's median rate (every round in its note), and after ÷ before. */
export async function compareRows(env: PodEnv, baseline: Checkout, rounds: number, log: (line: string) => void): Promise<Row[]> {
  const before: Side = { name: 'before', checkout: baseline, rounds: [], errors: [] };
  const after: Side = { name: 'after', checkout: THIS_CHECKOUT, rounds: [], errors: [] };
  for (const { side: name, round: i } of podOrder(rounds)) {
    const side = name === 'before' ? before : after;
    log(`pod ${side.name} round ${i + 1}/${rounds}: ${side.checkout.program}`);
    try {
      side.rounds[i] = await runPod('warden', { ...env, checkout: side.checkout }, `${side.name}${i}`);
    } catch (err) {
      side.errors.push((err as Error).message.replace(/\s+/g, ' ').slice(0, 200));
    }
  }
  const what = env.sinkChild ? '`warden sink` child (quick run)' : 'fluentd child';
  return [
    sideRow(before, `before: warden pod + ${what}, ${describe(baseline)}`),
    sideRow(after, `after: warden pod + ${what}, ${describe(THIS_CHECKOUT)}`),
    ratioRow('after / before, lines/s', before, after, podRate, 'lines/s'),
    ratioRow('after / before, warden CPU-s per million lines', before, after, (r) => r.wardenCpuPerM, 'CPU-s/M'),
  ];
}
