// `npm run bench -- --quick` in-process: every section runs against the real dist/warden.mjs and
// its `warden sink` child, and the table and bench results file carry a number in every row that
// was not skipped (Fluent Bit and fluentd are skipped, with a note, where they are not on PATH).
// No speed is asserted: targets are not judged in quick mode.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from '../../scripts/bench.js';
import { podUnavailable } from '../../scripts/bench/cgroup.js';
import { onPath } from '../../scripts/bench/others.js';
import { tempDir } from '../support/index.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

const EXPECTED: Array<[string, RegExp]> = [
  ['baseline', /^Node read \+ split$/],
  ['baseline', /^Node read \+ split \+ JSON\.parse$/],
  ['drain', /^end to end \(file/],
  ['drain', /^end to end$/],
  ['drain', /^ceiling: governor off/],
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
  ['latency', /^steady write rate achieved, forward\.flush_interval_ms 100 \(not the default\)$/],
  ['latency', /^write → sink receipt p50, forward\.flush_interval_ms 100/],
  ['latency', /^write → sink receipt p99, forward\.flush_interval_ms 100/],
  ['latency', /^send → ack p50 .*, forward\.flush_interval_ms 100/],
  ['latency', /^send → ack p99 .*, forward\.flush_interval_ms 100/],
  ['latency', /^warden CPU at this rate, forward\.flush_interval_ms 100/],
  ['idle', /^warden CPU, 100 quiet files$/],
  ['idle', /^warden RSS, 100 quiet files$/],
  ['pickup', /^300 new files/],
  ['fluent-bit', /^Fluent Bit tail → forward/],
  ['fluent-bit', /^warden \/ fluent-bit$/],
  ['fluentd', /^fluentd in_tail → forward/],
  ['fluentd', /^warden \/ fluentd$/],
  ['pod', /^seed: fluentd alone/],
  ['pod', /^warden \(shipped config and defaults\) \+ `warden sink` child/],
  ['pod', /^ceiling: fluentd alone/],
  ['pod', /^Fluent Bit alone/],
  ['pod', /^ceiling: warden pod with the governor off/],
  ['pod', /^warden pod \/ ceiling$/],
  ['pod', /^warden pod \/ seed$/],
  ['pod', /^warden pod peak cgroup memory$/],
  ['pod', /^warden pod OOM kills$/],
  ['pod', /^warden pod delivered \/ expected$/],
  ['pod', /^warden CPU per million lines in the pod$/],
  ['pod', /^warden pod CPU while a backlog waits in the files, share of its 200m quota$/],
  ['pod', /^warden pod CPU, share of its 200m quota$/],
  ['pod', /^warden pod budget state transitions$/],
  ['pod', /^warden CPU, steady 200 lines\/s for 2 s$/],
];

/**
 * Pod rows that carry a number in a quick run: the warden pod (with a sink child) and what is
 * measured on it, where pods can run (root, a cgroup with cpu and memory). The other pods are
 * skipped in quick runs, and so are the ratios to them.
 */
const podMeasured = (metric: string) => podUnavailable() === null && /^(warden \(|warden pod (peak|OOM|delivered|CPU|budget)|warden CPU)/.test(metric);

describe('npm run bench -- --quick', () => {
  it('prints every row with a number (or a skip note) and writes the results file with the machine', async () => {
    const t = tempDir('warden-bench-smoke-');
    cleanup = t.cleanup;
    const results = join(t.dir, 'results.md');
    // The single executable where it has been built (CI builds it first; the bench then rebuilds
    // it from these sources), else node on dist/warden.mjs.
    const runtime = existsSync(join(import.meta.dirname, '../../dist/warden')) ? 'binary' : 'node';
    const report = await runBench({ quick: true, mib: 2, results, runtime, log: () => {} });

    const failed = report.rows.filter((r) => r.metric === 'failed');
    expect(failed).toEqual([]);
    expect(report.rows.map((r) => r.section)).toEqual(EXPECTED.map(([s]) => s));
    report.rows.forEach((row, i) => {
      expect(row.metric).toMatch(EXPECTED[i]![1]);
      const skipped = (row.section === 'fluent-bit' || row.section === 'fluentd') && onPath(row.section) === null;
      if (skipped) {
        expect(row.value).toBeNull();
        expect(row.note).toMatch(/^skipped: .* not on PATH$/);
      } else if (row.section === 'pod' && !podMeasured(row.metric)) {
        expect(row.value, row.metric).toBeNull();
        expect(row.note, row.metric).toMatch(/^skipped: |did not run$/);
      } else if (row.section === 'pod' && /backlog waits/.test(row.metric) && row.value === null) {
        // The quick tree can be drained before the poll that sees the pod ready.
        expect(row.note).toMatch(/before the pod was seen ready/);
      } else if (row.section === 'pod' && /OOM/.test(row.metric)) {
        expect(row.value).toBe(0);
      } else {
        expect(row.value, `${row.section} / ${row.metric}`).toEqual(expect.any(Number));
        expect(Number.isFinite(row.value), `${row.section} / ${row.metric}`).toBe(true);
        // An idle warden over a short quick run may take no measurable CPU tick at all, nor may
        // warden draining the quick pod's few hundred lines (CPU is read in 10 ms ticks), and a
        // small quick backlog may never move the governor's machines.
        if (((row.section === 'idle' || row.section === 'pod') && /CPU/.test(row.metric)) || /transitions/.test(row.metric)) expect(row.value!, `${row.section} / ${row.metric}`).toBeGreaterThanOrEqual(0);
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
    expect(md).toMatch(runtime === 'binary' ? /\| warden runs as \| \/\S+\/dist\/warden \(single executable\) \|/ : /\| warden runs as \| node v[\d.]+ \/\S+\/dist\/warden\.mjs \|/);
    expect(md).toContain(`--runtime ${runtime}`);
    // Both the temp dir and the program are named, each with its device's readahead or why there is none.
    expect(md).toMatch(/\| disk readahead \| \/\S+: (\d+ KiB|no block device|unknown \([^|]*\))(, \/\S+: (\d+ KiB|no block device|unknown \([^|]*\)))? \|/);
    for (const [section] of EXPECTED) expect(md).toContain(`| ${section} |`);
    if (podUnavailable() === null) {
      const pod = report.rows.find((r) => r.section === 'pod' && /`warden sink` child/.test(r.metric))!;
      expect(pod.note).toMatch(/ · pod CPU \d+m of 200m · /);
      expect(pod.note).toMatch(/ · half delivered after [\d.]+ s · /);
      expect(pod.note).toMatch(/ · every line acked (before the pod was seen ready|\(warden's checkpoint covered the tree\) after [\d.]+ s \(warden [\d.]+ CPU-s by then\)) · /);
      expect(pod.note).toMatch(/peak \d+ MiB \(working set \d+, unreclaimable \d+\) · OOM kills 0 · throttled periods \d+ · warden [\d.]+ CPU-s\/M · \d+ records per chunk to the child · delivered ([\d,]+)\/\1$/);
      const transitions = report.rows.find((r) => r.metric === 'warden pod budget state transitions')!;
      expect(transitions.note).toMatch(/^(none|(\w+\.\w+: \w+ → \w+ \(\d+\)( · )?)+) \(warden's log: \/.*\/warden\/warden\.log\)$/);
      const share = report.rows.find((r) => /^warden pod CPU, share of its 200m quota/.test(r.metric))!;
      expect(share.note).toMatch(/CPU-s of the whole pod \(cgroup v[12] (cpuacct\.usage|cpu\.stat usage_usec)\)/);
      const backlog = report.rows.find((r) => /^warden pod CPU while a backlog waits/.test(r.metric))!;
      if (backlog.value === null) {
        expect(backlog.note).toMatch(/before the pod was seen ready/);
      } else {
        expect(backlog.value).toBeGreaterThan(0);
        expect(backlog.note).toMatch(/^[\d.]+ CPU-s \(warden [\d.]+ CPU-s\) over the [\d.]+ s from ready to the ack after which warden's checkpoint covered every byte of the tree/);
      }
    }
  }, 240_000);
});
