// The shared parse cases (test/fixtures/parse/cases.ts) through the real reader: each case's
// lines are written to a real file (a cut line is followed by the rest of its physical line, no
// newline between), a TailPipeline reads them all and ships to an in-memory acking sender (a
// fake), and the records that arrive are compared with the case. The pipeline's clock starts at
// the case's read time NOW, so plain lines and parse errors carry it (give or take the run's length).
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import type { Assembled } from '../../agent/parse/types.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { cases, DEFAULT_MAX_LINE_BYTES, NOW, type ParseCase } from '../fixtures/parse/cases.js';
import { captureLogger, tempDirEach, waitFor } from '../support/index.js';
import { MemorySender, tailConfig, type Got } from '../support/tail.js';

const tmp = tempDirEach('warden-parse-cases-');
const running: TailPipeline[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

/** The file a case's lines make: a newline after each line the reader did not cut. */
function fileText(c: ParseCase): string {
  return c.lines.map((l, i) => l + (c.cut?.[i] ? '' : '\n')).join('');
}

/** A shipped record as the parse stage's Assembled; a time within the run is the read time NOW. */
function assembled(g: Got, runSeconds: number): Assembled {
  const { log, stream, partial, truncated, parse_error, time_out_of_range, attrs } = g.record;
  const readTime = g.sec >= NOW.sec && g.sec <= NOW.sec + runSeconds;
  const a: Assembled = { sec: readTime ? NOW.sec : g.sec, nsec: readTime ? NOW.nsec : g.nsec, stream: stream ?? '', log };
  if (partial) a.partial = true;
  if (truncated) a.truncated = true;
  if (parse_error) a.parse_error = true;
  if (time_out_of_range) a.time_out_of_range = true;
  if (attrs) a.attrs = attrs;
  return a;
}

/** Runs `group` (cases of one max_line_bytes) through one pipeline; the records per case, by index. */
async function shipped(group: Array<{ c: ParseCase; i: number }>, maxLineBytes: number): Promise<Map<number, Assembled[]>> {
  const root = join(tmp.dir, String(maxLineBytes));
  const formats = ['docker', 'cri', 'plain'] as const;
  for (const f of formats) mkdirSync(join(root, 'log', f), { recursive: true });
  const files = group.map(({ c, i }) => {
    const path = join(root, 'log', c.format, `case${i}.log`);
    writeFileSync(path, fileText(c));
    return path;
  });
  const sender = new MemorySender();
  const config = tailConfig(
    join(root, 'state'),
    [join(root, 'log')],
    formats.map((f) => ({ name: f, paths: [join(root, 'log', f, '*.log')], format: f })),
    { max_line_bytes: maxLineBytes },
  );
  const started = Date.now();
  const now = () => NOW.sec * 1000 + (Date.now() - started);
  const p = new TailPipeline({ config, sender, logger: captureLogger('warn').logger, metrics: createMetrics({ defaults: false }), host: 'h', now });
  running.push(p);
  await p.start();
  // Every byte read and acked: the checkpoint never passes text still held for reassembly, so
  // nothing is pending any more when each file's offset reaches its size.
  await waitFor('every case file read, shipped and acked', () => {
    const st = p.files();
    return files.every((path) => st.some((f) => f.path === path && f.offset === statSync(path).size));
  });
  const runSeconds = Math.ceil((Date.now() - started) / 1000) + 1;
  const out = new Map<number, Assembled[]>(group.map(({ i }) => [i, []]));
  for (const g of sender.got) out.get(Number(/^host\.case(\d+)$/.exec(g.tag)![1]))!.push(assembled(g, runSeconds));
  return out;
}

describe('the shared parse cases through the real reader and TailPipeline (in-memory acking sender)', () => {
  it('every case ships exactly its records, in order, none longer than max_line_bytes', async () => {
    const indexed = cases.map((c, i) => ({ c, i }));
    const limits = [...new Set(cases.map((c) => c.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES))];
    const results = await Promise.all(limits.map((m) => shipped(indexed.filter(({ c }) => (c.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES) === m), m)));
    const byCase = new Map(results.flatMap((r) => [...r]));
    for (const { c, i } of indexed) {
      const got = byCase.get(i)!;
      expect.soft(got, c.name).toStrictEqual(c.expect);
      for (const r of got) expect(Buffer.byteLength(r.log), c.name).toBeLessThanOrEqual(c.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    }
  });
});
