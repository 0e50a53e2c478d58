// The first scrape of a fresh warden already holds every series an operator alerts on, at 0:
// `increase(warden_bytes_lost_total{reason="deleted_unread"}[5m]) > 0` or a rate of child exits
// by kind can be written before the first loss or crash. What is expected is what the source
// lists (agent/health/labels.ts, the lists the counting code takes its types from), each counter
// by the name the registry gives it; the binary under test must export every combination of them.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_LABELS, type KnownLabels } from '../../agent/health/labels.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { freePort, tempDir, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

/** Each labelled counter's exported name, with the values of each of its labels, as the source lists them. */
const registry = createMetrics({ defaults: false });
const nameOf = (key: keyof typeof KNOWN_LABELS) => (registry[key] as unknown as { name: string }).name;
const EXPECTED: Record<string, KnownLabels> = Object.fromEntries(
  Object.entries(KNOWN_LABELS).map(([key, labels]) => [nameOf(key as keyof typeof KNOWN_LABELS), labels]),
);

/** `name{a="x",b="y"}` for every combination of `labels`' values, in their order, or for each listed series. */
function series(name: string, labels: KnownLabels): string[] {
  if (Array.isArray(labels)) return labels.map((l) => `${name}{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(',')}}`);
  let out: string[][] = [[]];
  for (const [k, vs] of Object.entries(labels as Record<string, readonly string[]>)) out = out.flatMap((l) => vs.map((v) => [...l, `${k}="${v}"`]));
  return out.map((l) => `${name}{${l.join(',')}}`);
}

// A fresh warden writes its first checkpoint file soon after it starts, and on a loaded machine
// the shipped budgets may act on its own start-up CPU: those series are exported like the others,
// but may count by the first scrape (the unit test sees the budget ones at 0).
const COUNTED_AT_START = new Set([...series(nameOf('checkpointWrites'), { result: ['ok'] }), ...series(nameOf('budgetViolations'), KNOWN_LABELS.budgetViolations)]);

describe('/metrics of a fresh warden', () => {
  it('has every labelled counter at 0 for each of its label values, before any event', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    mkdirSync(join(t.dir, 'logs'));
    const [healthPort, fwdPort] = [await freePort(), await freePort()];
    const w = (scope.running = spawnWarden(t.dir, {
      state_dir: join(t.dir, 'state'),
      health: { listen: `127.0.0.1:${healthPort}` },
      inputs: [{ name: 'host', paths: [join(t.dir, 'logs/*.log')], format: 'plain' }],
      tail: { roots: [join(t.dir, 'logs')] },
      forward: { to: `tcp://127.0.0.1:${fwdPort}` },
      child: { command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(t.dir, 'out.ndjson')], stop_grace_s: 2 },
    }));
    await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 30_000);
    const text = (await w.get('/metrics')).body;
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(\S+\{[^}]*\}) (\S+)$/.exec(line);
      if (m) values.set(m[1]!, Number(m[2]));
    }
    const missing: string[] = [];
    for (const [name, labels] of Object.entries(EXPECTED)) {
      for (const s of series(name, labels)) {
        if (!values.has(s)) missing.push(s);
        else if (!COUNTED_AT_START.has(s)) expect(values.get(s), s).toBe(0);
      }
    }
    expect(missing).toEqual([]);
    // Only the values the source lists: nothing is counted under a value labels.ts does not name.
    for (const name of Object.keys(EXPECTED)) {
      const exported = [...values.keys()].filter((k) => k.startsWith(`${name}{`)).sort();
      expect(exported, name).toEqual(series(name, EXPECTED[name]!).sort());
    }
  });
});
