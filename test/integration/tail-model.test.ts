// Model-based test in the spirit of Vector's file_watcher tests, on fast-check: random command
// sequences (append lines, a partial line then its end, a long line over max_line_bytes, rotate by
// rename, copytruncate, a new file, restart from the checkpoint) against a tiny model of what was
// written, in the plain, Docker and CRI formats. The sender is an in-memory acking fake. Restarts
// are graceful (stop + a new pipeline over the same state_dir); kill -9 is the process tests' job.
//
// After each run: every complete line shipped once, in order per file generation, nothing that was
// never written; long lines arrive cut into flagged pieces, byte for byte; every file's
// checkpointed offset is what the model says has been written, less its unterminated line.
// A failure prints fast-check's seed and path: TAIL_MODEL_SEED and TAIL_MODEL_PATH replay it,
// TAIL_MODEL_RUNS sets the runs per property, TAIL_MODEL_DEBUG=1 logs the pipeline on stderr.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, renameSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { createLogger } from '../../core/log.js';
import { captureLogger, tempDirEach, waitFor } from '../support/index.js';
import { MemorySender, tailConfig, type Got } from '../support/tail.js';

type Format = 'plain' | 'docker' | 'cri';

type Op =
  | { t: 'append'; f: number; n: number; pad: number }
  | { t: 'partial'; f: number }
  | { t: 'finish'; f: number }
  | { t: 'long'; f: number; len: number }
  | { t: 'rotate'; f: number }
  | { t: 'copytruncate'; f: number }
  | { t: 'create' }
  | { t: 'restart' };

const MAX_LINE_BYTES = 1024;
const TIME = '2026-11-27T18:00:00.000000001Z';

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('append' as const), f: fc.nat(2), n: fc.integer({ min: 1, max: 5 }), pad: fc.nat(300) }), weight: 4 },
  fc.record({ t: fc.constant('partial' as const), f: fc.nat(2) }),
  fc.record({ t: fc.constant('finish' as const), f: fc.nat(2) }),
  fc.record({ t: fc.constant('long' as const), f: fc.nat(2), len: fc.integer({ min: MAX_LINE_BYTES + 1, max: 3 * MAX_LINE_BYTES }) }),
  fc.record({ t: fc.constant('rotate' as const), f: fc.nat(2) }),
  fc.record({ t: fc.constant('copytruncate' as const), f: fc.nat(2) }),
  fc.record({ t: fc.constant('create' as const) }),
  fc.record({ t: fc.constant('restart' as const) }),
);

/** The physical line `text` is in `format`; what its record's `log` is; the bytes a reader cut keeps as record text. */
function physical(format: Format, text: string): string {
  if (format === 'docker') return `{"log":${JSON.stringify(text + '\n')},"stream":"stdout","time":"${TIME}"}`;
  if (format === 'cri') return `${TIME} stdout F ${text}`;
  return text;
}
/** The text of a cut line's pieces joined: docker pieces are raw JSON, CRI loses its prefix. */
function cutText(format: Format, text: string): string {
  return format === 'cri' ? text : physical(format, text);
}

interface ModelFile {
  name: string;
  gen: number;
  seq: number;
  /** Bytes written to the current generation. */
  size: number;
  /** An unterminated physical line written so far, and the text its record will have. */
  partial: { written: string; rest: string; text: string } | null;
  rotations: number;
}

class Model {
  readonly files: ModelFile[];
  /** Stream `name.gen` → its complete lines' texts, in order. */
  readonly expected = new Map<string, string[]>();
  /** Streams that may have lost unread lines: rotated or truncated with no sync before it. */
  readonly lossy = new Set<string>();
  /** Texts a reader must cut (joined piece text), with the id their first piece starts with. */
  readonly cut: Array<{ id: string; text: string; stream: string }> = [];
  private created = 0;

  constructor(readonly format: Format, readonly dir: string) {
    this.files = ['a', 'b'].map((name) => this.file(name));
  }

  private file(name: string): ModelFile {
    return { name, gen: 0, seq: 0, size: 0, partial: null, rotations: 0 };
  }
  path(m: ModelFile): string {
    return join(this.dir, `${m.name}.log`);
  }
  pick(f: number): ModelFile {
    return this.files[f % this.files.length]!;
  }
  stream(m: ModelFile): string {
    return `${m.name}.${m.gen}`;
  }
  nextId(m: ModelFile): string {
    return `${m.name}.${m.gen}.${m.seq++}`;
  }
  write(m: ModelFile, s: string): void {
    appendFileSync(this.path(m), s);
    m.size += Buffer.byteLength(s);
  }
  expect(m: ModelFile, text: string): void {
    const k = this.stream(m);
    if (!this.expected.has(k)) this.expected.set(k, []);
    this.expected.get(k)!.push(text);
  }
  appendLines(m: ModelFile, n: number, pad: number): void {
    this.finish(m);
    const texts = Array.from({ length: n }, () => this.nextId(m) + (pad > 0 ? ' ' + 'p'.repeat(pad) : ''));
    this.write(m, texts.map((t) => physical(this.format, t) + '\n').join(''));
    for (const t of texts) this.expect(m, t);
  }
  startPartial(m: ModelFile): void {
    if (m.partial) return;
    const text = this.nextId(m) + '-part';
    const line = physical(this.format, text);
    const half = Math.ceil(line.length / 2);
    m.partial = { written: line.slice(0, half), rest: line.slice(half) + '\n', text };
    this.write(m, m.partial.written);
  }
  finish(m: ModelFile): void {
    if (!m.partial) return;
    this.write(m, m.partial.rest);
    this.expect(m, m.partial.text);
    m.partial = null;
  }
  long(m: ModelFile, len: number): void {
    this.finish(m);
    const id = this.nextId(m);
    const text = id + ' ' + 'L'.repeat(Math.max(0, len - id.length - 1));
    this.write(m, physical(this.format, text) + '\n');
    this.cut.push({ id, text: cutText(this.format, text), stream: this.stream(m) });
  }
  /**
   * A rotated file's unterminated plain line is final: what was written of it is shipped once the
   * file is drained. Docker and CRI ones are finished first (half a JSON line is a parse error).
   */
  beforeRotation(m: ModelFile): void {
    if (!m.partial) return;
    if (this.format !== 'plain') return this.finish(m);
    this.expect(m, m.partial.written);
    m.partial = null;
  }
  newGeneration(m: ModelFile): void {
    m.gen++;
    m.seq = 0;
    m.size = 0;
  }
  create(): ModelFile {
    const m = this.file(`n${this.created++}`);
    this.files.push(m);
    return m;
  }
}

interface RunOptions {
  format: Format;
  /** Wait before a rotation until the pipeline knows the file, and before a copytruncate until it read it all. */
  sync: boolean;
}

const tmp = tempDirEach('warden-model-');
let runNo = 0;

async function run(ops: Op[], opts: RunOptions): Promise<void> {
  const root = join(tmp.dir, `run${runNo++}`);
  const logDir = join(root, 'log');
  mkdirSync(logDir, { recursive: true });
  const model = new Model(opts.format, logDir);
  const sender = new MemorySender(4);
  const config = tailConfig(join(root, 'state'), [logDir], [{ name: 'host', paths: [join(logDir, '*.log')], format: opts.format }], { rescan_interval_ms: 100, max_line_bytes: MAX_LINE_BYTES });
  const logger = process.env.TAIL_MODEL_DEBUG ? createLogger('debug', { stream: process.stderr, tty: false }) : captureLogger('warn').logger;
  const make = () => new TailPipeline({ config, sender, logger, metrics: createMetrics({ defaults: false }), host: 'model-host' });
  let p = make();
  await p.start();
  const known = (m: ModelFile, done: (f: { offset: number; state: string }, size: number) => boolean) => {
    const st = statSync(model.path(m));
    return p.files().some((f) => f.identity.split(':')[1] === String(st.ino) && done(f, st.size));
  };
  try {
    for (const op of ops) {
      const m = 'f' in op ? model.pick(op.f) : null;
      const exists = m !== null && existsSync(model.path(m));
      switch (op.t) {
        case 'append':
          model.appendLines(m!, op.n, op.pad);
          break;
        case 'partial':
          model.startPartial(m!);
          break;
        case 'finish':
          model.finish(m!);
          break;
        case 'long':
          model.long(m!, op.len);
          break;
        case 'rotate':
          if (!exists || m!.size === 0) break;
          // A file renamed away before discovery ever saw it is not followed (no tailer can): only
          // synchronised is every line of it owed.
          if (opts.sync) await waitFor(`discovery of ${m!.name}.log`, () => known(m!, (f) => f.state === 'active'), 5000);
          else model.lossy.add(model.stream(m!));
          model.beforeRotation(m!);
          if (m!.rotations++ % 2 === 0) renameSync(model.path(m!), `${model.path(m!)}.2024010${m!.rotations % 10}-000000`);
          else {
            if (existsSync(model.path(m!) + '.1')) renameSync(model.path(m!) + '.1', model.path(m!) + '.2');
            renameSync(model.path(m!), model.path(m!) + '.1');
          }
          model.newGeneration(m!);
          break;
        case 'copytruncate':
          if (!exists) break;
          // Lines written between the copy and the truncate are lost by copytruncate itself, in any
          // tailer: synchronised, the model truncates only what has been read; else it may lose them.
          model.finish(m!);
          if (opts.sync) await waitFor(`${m!.name}.log read and acked`, () => known(m!, (f, size) => f.offset === size), 5000);
          else model.lossy.add(model.stream(m!));
          copyFileSync(model.path(m!), `${model.path(m!)}.ct${m!.gen}`);
          truncateSync(model.path(m!), 0);
          model.newGeneration(m!);
          break;
        case 'create':
          model.appendLines(model.create(), 1, 0);
          break;
        case 'restart':
          await p.stop();
          p = make();
          await p.start();
          break;
      }
    }
    await waitFor('every complete line shipped and every file checkpointed', () => settled(model, sender, p), 8000).catch((err) => {
      throw new Error(`${String(err)}\n${describeRun(model, sender, p)}`);
    });
    check(model, sender.got, p);
  } finally {
    await p.stop();
  }
}

/** Every expected line arrived and each current file's offset is all but its unterminated line. */
function settled(model: Model, sender: MemorySender, p: TailPipeline): boolean {
  const got = new Set(sender.logs());
  for (const [k, lines] of model.expected) if (!model.lossy.has(k) && !lines.every((l) => got.has(l))) return false;
  return offsetsMatch(model, p).length === 0;
}

/** Files whose checkpointed offset differs from the model's: `name: offset != want`. */
function offsetsMatch(model: Model, p: TailPipeline): string[] {
  const bad: string[] = [];
  for (const m of model.files) {
    if (!existsSync(model.path(m))) continue;
    const ino = String(statSync(model.path(m)).ino);
    const want = m.size - (m.partial ? Buffer.byteLength(m.partial.written) : 0);
    const f = p.files().find((x) => x.identity.split(':')[1] === ino && x.path === model.path(m));
    if (f?.offset !== want) bad.push(`${m.name}: ${f?.offset ?? 'not open'} != ${want}`);
  }
  return bad;
}

function describeRun(model: Model, sender: MemorySender, p: TailPipeline): string {
  const got = new Set(sender.logs());
  const missing = [...model.expected].flatMap(([k, ls]) => (model.lossy.has(k) ? [] : ls.filter((l) => !got.has(l)))).map((l) => l.slice(0, 40));
  return `missing ${missing.slice(0, 5).join(', ')}; offsets ${offsetsMatch(model, p).join('; ')}`;
}

function check(model: Model, got: Got[], p: TailPipeline): void {
  const ids = new Set(model.cut.map((c) => c.id));
  const whole = got.filter((g) => !g.record.truncated);
  const pieces = got.filter((g) => g.record.truncated);
  // Whole lines: each expected one once, in order per file generation, nothing else.
  const byStream = new Map<string, string[]>();
  for (const g of whole) {
    const key = String(g.record.log).split('.').slice(0, 2).join('.');
    if (!byStream.has(key)) byStream.set(key, []);
    byStream.get(key)!.push(g.record.log);
  }
  for (const key of byStream.keys()) expect(model.expected.has(key), `records of a stream never written: ${key}`).toBe(true);
  for (const [key, lines] of model.expected) {
    const seen = byStream.get(key) ?? [];
    if (model.lossy.has(key)) expect(isSubsequence(seen, lines), `stream ${key}: in order, nothing unwritten`).toBe(true);
    else expect(seen, `stream ${key}`).toEqual(lines);
  }
  for (const g of whole) {
    expect(g.tag).toBe(`host.${String(g.record.log).split('.')[0]}`);
    expect(g.record.host).toBe('model-host');
    expect(g.record.parse_error, `${String(g.record.log).slice(0, 40)} parsed as ${model.format}`).toBeUndefined();
  }
  // Long lines: cut into flagged pieces no longer than max_line_bytes, every byte shipped once.
  for (const g of pieces) expect(Buffer.byteLength(g.record.log)).toBeLessThanOrEqual(MAX_LINE_BYTES);
  // A long line in a stream that may have lost lines may be lost too, whole or from a piece on.
  const owed = model.cut.filter((c) => !model.lossy.has(c.stream));
  const mayLose = model.cut.filter((c) => model.lossy.has(c.stream));
  const firsts = new Set(pieces.map((g) => firstId(String(g.record.log), model.format)).filter((id) => ids.has(id)));
  for (const c of owed) expect(firsts.has(c.id), `first piece of ${c.id}`).toBe(true);
  const bytes = (cs: typeof model.cut) => cs.reduce((a, c) => a + Buffer.byteLength(c.text), 0);
  const shippedBytes = pieces.reduce((a, g) => a + Buffer.byteLength(g.record.log), 0);
  expect(shippedBytes).toBeGreaterThanOrEqual(bytes(owed));
  expect(shippedBytes).toBeLessThanOrEqual(bytes(owed) + bytes(mayLose));
  // The checkpoint: every file's offset is what the model wrote, less its unterminated line.
  expect(offsetsMatch(model, p)).toEqual([]);
}

/** The id a long line's first piece starts with (after `{"log":"` for docker's raw JSON). */
function firstId(log: string, format: Format): string {
  const text = format === 'docker' ? log.slice('{"log":"'.length) : log;
  return text.split(' ')[0]!;
}

function isSubsequence(xs: string[], of: string[]): boolean {
  let i = 0;
  for (const x of xs) {
    while (i < of.length && of[i] !== x) i++;
    if (i === of.length) return false;
    i++;
  }
  return true;
}

const numRuns = Number(process.env.TAIL_MODEL_RUNS ?? 40);
// A fixed seed by default, so a run fails only where the code changed; TAIL_MODEL_SEED=random
// explores new sequences, and a seed (with TAIL_MODEL_PATH) replays one.
const seedEnv = process.env.TAIL_MODEL_SEED;
const replay = seedEnv === 'random' ? {} : seedEnv ? { seed: Number(seedEnv), path: process.env.TAIL_MODEL_PATH } : { seed: 20261202 };
// Shrinking a failure re-runs it many times: after 50 s fast-check stops and reports the smallest
// counterexample so far, with its seed, before the test's own timeout.
// Counterexamples fast-check found once, run first every time.
type Example = [Format, Op[]];
const FOUND: Example[] = [
  // Resumed at offset 0 below a fingerprint taken over an unterminated first line, rewritten by a
  // copytruncate before the first read: read once as it is, then taken for a truncation and read again.
  ['plain', [{ t: 'partial', f: 0 }, { t: 'restart' }, { t: 'copytruncate', f: 0 }, { t: 'long', f: 0, len: 1025 }, { t: 'partial', f: 0 }] as Op[]],
];
const property = (formats: Format[], sync: boolean) =>
  fc.assert(
    fc.asyncProperty(fc.constantFrom(...formats), fc.array(opArb, { minLength: 1, maxLength: 14 }), (format, ops) => run(ops, { format, sync })),
    { numRuns, interruptAfterTimeLimit: 50_000, markInterruptAsFailure: true, examples: sync ? [] : FOUND.filter(([f]) => formats.includes(f)), ...replay },
  );

describe('tail pipeline against a model, fast-check command sequences (in-memory acking sender)', () => {
  for (const format of ['plain', 'docker', 'cri'] as const) {
    it(`${format}: synchronised before rotations and copytruncate`, () => property([format], true), 90_000);
  }
  it('any format, no synchronisation before any operation (a rotation or copytruncate may outrun reading)', () => property(['plain', 'docker', 'cri'], false), 90_000);
});
