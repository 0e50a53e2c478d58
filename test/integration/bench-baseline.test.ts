// `npm run bench -- --quick --only pod --baseline DIR --rounds 2` in-process, with this checkout as
// its own baseline: both sides run the real warden pod (a `warden sink` child in quick runs) in
// the seed's cgroup limits, in before/after/after/before order, and the report carries each
// side's median and every round, and the two ratios with each round's own ratio. No speed is
// asserted: an A/A run on a busy machine can land anywhere near 1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from '../../scripts/bench.js';
import { podUnavailable } from '../../scripts/bench/cgroup.js';
import { ROOT } from '../../scripts/bench/warden.js';
import { skipNote } from '../support/skip.js';
import { tempDir } from '../support/index.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const reason = podUnavailable();
const ROUND = /^[\d,]+\/s, warden [\d.]+ CPU-s\/M, fluentd — CPU-s\/M, \d+ records\/chunk, pod \d+m, peak \d+ MiB, OOM kills 0, delivered ([\d,]+)\/\1, \d+ transitions$/;

describe.skipIf(reason !== null)(`npm run bench -- --only pod --baseline${skipNote(reason)}`, () => {
  it('runs both checkouts alternately, before/after then after/before, and reports every round and each round’s ratio', async () => {
    const t = tempDir('warden-bench-baseline-');
    cleanup = t.cleanup;
    const results = join(t.dir, 'results.md');
    const lines: string[] = [];
    // Plain node on dist/warden.mjs: the binary runtime would rebuild dist/warden, which other
    // tests run at the same time.
    const report = await runBench({ quick: true, only: ['pod'], baseline: { dir: ROOT, rounds: 2 }, runtime: 'node', results, log: (l) => lines.push(l) });

    expect(lines.filter((l) => /^pod (before|after) round/.test(l)).map((l) => /^pod (\w+) round (\d)/.exec(l)!.slice(1).join(' '))).toEqual(['before 1', 'after 1', 'after 2', 'before 2']);
    const [before, after, rate, cpu, ...rest] = report.rows;
    expect(rest).toEqual([]);
    const commit = /@ [0-9a-f]{7,}$/;
    for (const [side, row] of [['before', before], ['after', after]] as const) {
      expect(row!.metric).toMatch(new RegExp(`^${side}: warden pod \\+ \`warden sink\` child \\(quick run\\), ${ROOT.replace(/[/.]/g, '\\$&')} `));
      expect(row!.metric).toMatch(commit);
      expect(row!.value, row!.metric).toBeGreaterThan(0);
      const [count, ...rounds] = row!.note!.split(' · ');
      expect(count).toBe('median of 2');
      expect(rounds).toHaveLength(2);
      for (const r of rounds) expect(r).toMatch(ROUND);
    }
    for (const [row, unit] of [[rate, 'lines/s'], [cpu, 'CPU-s/M']] as const) {
      expect(row!.unit).toBe('×');
      expect(row!.value, row!.metric).toBeGreaterThan(0);
      expect(row!.note).toMatch(new RegExp(`^medians [\\d.]+ / [\\d.]+ ${unit}; by round (\\d+\\.\\d\\d|—) · (\\d+\\.\\d\\d|—)$`));
    }
    // Each round's lines/s ratio is its own after over its own before.
    const rate1 = (row: typeof before, i: number) => Number(row!.note!.split(' · ')[i + 1]!.split('/s')[0]!.replace(/,/g, ''));
    const byRound = rate!.note!.split('by round ')[1]!.split(' · ').map(Number);
    for (const i of [0, 1]) expect(byRound[i]).toBeCloseTo(rate1(after, i) / rate1(before, i), 1);
    expect(readFileSync(results, 'utf8')).toContain(`--baseline ${ROOT} --rounds 2`);
  }, 240_000);
});
