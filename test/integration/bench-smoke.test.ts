// `npm run bench -- --quick` in-process: every section runs against the real dist/warden.mjs and
// its `warden sink` child, and the table and bench results file carry a number in every row that
// was not skipped (Fluent Bit and fluentd are skipped, with a note, where they are not on PATH).
// No speed is asserted: targets are not judged in quick mode.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from '../../scripts/bench.js';
import { onPath } from '../../scripts/bench/others.js';
import { tempDir } from './harness.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const EXPECTED: Array<[string, RegExp]> = [
  ['baseline', /^Node read \+ split$/],
  ['baseline', /^Node read \+ split \+ JSON\.parse$/],
  ['drain', /^end to end \(file/],
  ['drain', /^end to end$/],
  ['drain', /^ratio to Node/],
  ['drain', /^warden CPU per million lines$/],
  ['drain', /^warden peak RSS/],
  ['drain', /^sink \(child\) CPU/],
  ['latency', /^steady write rate achieved$/],
  ['latency', /^write → sink receipt p50$/],
  ['latency', /^write → sink receipt p99$/],
  ['latency', /^send → ack p50/],
  ['latency', /^send → ack p99/],
  ['latency', /^warden CPU at this rate$/],
  ['idle', /^warden CPU, 100 quiet files$/],
  ['idle', /^warden RSS, 100 quiet files$/],
  ['pickup', /^300 new files/],
  ['fluent-bit', /^Fluent Bit tail → forward/],
  ['fluent-bit', /^warden \/ fluent-bit$/],
  ['fluentd', /^fluentd in_tail → forward/],
  ['fluentd', /^warden \/ fluentd$/],
];

describe('npm run bench -- --quick', () => {
  it('prints every row with a number (or a skip note) and writes the results file with the machine', async () => {
    const t = tempDir('warden-bench-smoke-');
    cleanup = t.cleanup;
    const results = join(t.dir, 'results.md');
    const report = await runBench({ quick: true, mib: 2, results, log: () => {} });

    const failed = report.rows.filter((r) => r.metric === 'failed');
    expect(failed).toEqual([]);
    expect(report.rows.map((r) => r.section)).toEqual(EXPECTED.map(([s]) => s));
    report.rows.forEach((row, i) => {
      expect(row.metric).toMatch(EXPECTED[i]![1]);
      const skipped = (row.section === 'fluent-bit' || row.section === 'fluentd') && onPath(row.section) === null;
      if (skipped) {
        expect(row.value).toBeNull();
        expect(row.note).toMatch(/^skipped: .* not on PATH$/);
      } else {
        expect(row.value, `${row.section} / ${row.metric}`).toEqual(expect.any(Number));
        expect(Number.isFinite(row.value), `${row.section} / ${row.metric}`).toBe(true);
        // An idle warden over a short quick run may take no measurable CPU tick at all.
        if (row.section === 'idle' && /CPU/.test(row.metric)) expect(row.value!, `${row.section} / ${row.metric}`).toBeGreaterThanOrEqual(0);
        else expect(row.value!, `${row.section} / ${row.metric}`).toBeGreaterThan(0);
      }
      // Quick sizes are not the sizes: no verdicts.
      expect(row.met ?? null).toBeNull();
    });
    // Header, rule, one line per row.
    expect(report.table.split('\n')).toHaveLength(2 + EXPECTED.length);

    expect(existsSync(results)).toBe(true);
    const md = readFileSync(results, 'utf8');
    expect(md).toContain(`| cores (nproc) | ${report.machine.nproc} |`);
    expect(md).toContain(`| Node | ${process.version} |`);
    expect(md).toMatch(/\| warden \| warden \d+\.\d+\.\d+/);
    for (const [section] of EXPECTED) expect(md).toContain(`| ${section} |`);
  }, 60_000);
});
