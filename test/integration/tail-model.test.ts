// Model-based test in the spirit of Vector's file_watcher tests: random sequences of write,
// write-partial, rotate (kubelet rename + new file, docker shift), copytruncate, delete, withheld
// acks and warden restart, checked against a tiny model of what was written. The sender is an
// in-memory acking fake. Restarts here are graceful (stop + new pipeline over the same state_dir);
// kill -9 of the process is covered by the process-level tests, not here.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { createLogger } from '../../core/log.js';
import { captureLogger, waitFor } from '../support/index.js';
import { MemorySender, tailConfig } from '../support/tail.js';
import { rng } from '../../scripts/lib/util.js';

let root: string;
let logDir: string;
let stateDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warden-model-'));
  logDir = join(root, 'log');
  stateDir = join(root, 'state');
  mkdirSync(logDir, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));


interface ModelFile {
  gen: number;
  seq: number;
  partial: string | null;
  rotations: number;
}

type Op = 'write' | 'partial' | 'rotate' | 'docker_rotate' | 'copytruncate' | 'delete' | 'restart' | 'hold';

async function runModel(seed: number, steps: number) {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const names = ['a', 'b', 'c'];
  const model = new Map<string, ModelFile>(names.map((n) => [n, { gen: 0, seq: 0, partial: null, rotations: 0 }]));
  const expected = new Map<string, string[]>(); // stream `name.gen` → lines in order
  const sender = new MemorySender(4);
  const config = tailConfig(stateDir, [logDir], [{ name: 'host', paths: [join(logDir, '*.log')], format: 'plain' }], { rescan_interval_ms: 100 });
  // TAIL_MODEL_DEBUG=1 replays a seed with the pipeline's debug log on stderr.
  const logger = process.env.TAIL_MODEL_DEBUG ? createLogger('debug', { stream: process.stderr, tty: false }) : captureLogger().logger;
  const make = () => new TailPipeline({ config, sender, logger, metrics: createMetrics({ defaults: false }), host: 'model-host' });
  let p = make();
  await p.start();
  const trace: string[] = [];
  let dupsAllowed = false;
  const deleted: string[] = [];

  const path = (n: string) => join(logDir, `${n}.log`);
  const expect1 = (n: string, line: string) => {
    const m = model.get(n)!;
    const key = `${n}.${m.gen}`;
    if (!expected.has(key)) expected.set(key, []);
    expected.get(key)!.push(line);
  };
  const lineText = (n: string) => {
    const m = model.get(n)!;
    return `${n}.${m.gen}.${m.seq++}` + (rand() < 0.2 ? ' ' + 'p'.repeat(Math.floor(rand() * 3000)) : '');
  };
  /** The pipeline knows the file now at `n`'s path (so a rotation cannot outrun discovery). */
  const discovered = async (n: string) => {
    // Withheld acks stop all reading (backpressure), so nothing new is opened meanwhile.
    sender.release();
    const ino = String(statSync(path(n)).ino);
    await waitFor(`discovery of ${n}.log`, () => p.files().some((f) => f.identity.split(':')[1] === ino && f.state === 'active'), 5000);
  };
  const caughtUp = async (n: string) => {
    sender.release();
    const st = statSync(path(n));
    await waitFor(`${n}.log read and acked`, () => p.files().some((f) => f.identity.split(':')[1] === String(st.ino) && f.offset === st.size), 5000);
  };
  const completePartial = (n: string) => {
    const m = model.get(n)!;
    if (m.partial === null) return;
    appendFileSync(path(n), '-rest\n');
    expect1(n, m.partial + '-rest');
    m.partial = null;
  };
  const newGeneration = (n: string) => {
    const m = model.get(n)!;
    m.gen++;
    m.seq = 0;
  };

  for (let step = 0; step < steps; step++) {
    const n = pick(names);
    const m = model.get(n)!;
    const exists = existsSync(path(n));
    const op: Op = pick(['write', 'write', 'write', 'partial', 'rotate', 'docker_rotate', 'copytruncate', 'delete', 'restart', 'hold'] as const);
    trace.push(`${op}(${n})`);
    switch (op) {
      case 'write': {
        if (m.partial !== null) completePartial(n);
        const k = 1 + Math.floor(rand() * 20);
        const ls = Array.from({ length: k }, () => lineText(n));
        appendFileSync(path(n), ls.map((l) => l + '\n').join(''));
        for (const l of ls) expect1(n, l);
        break;
      }
      case 'partial':
        if (m.partial === null) {
          const t = lineText(n) + '-part';
          appendFileSync(path(n), t);
          m.partial = t;
        }
        break;
      case 'rotate':
      case 'docker_rotate':
        if (!exists || statSync(path(n)).size === 0) break;
        await discovered(n);
        // The unterminated last line of a rotated file is final: it is shipped when the file is drained.
        if (m.partial !== null) {
          expect1(n, m.partial);
          m.partial = null;
        }
        if (op === 'rotate') renameSync(path(n), `${path(n)}.2024010${m.rotations++ % 10}-000000`);
        else {
          if (existsSync(path(n) + '.1')) renameSync(path(n) + '.1', path(n) + '.2');
          renameSync(path(n), path(n) + '.1');
        }
        newGeneration(n);
        appendFileSync(path(n), '');
        break;
      case 'copytruncate':
        if (!exists) break;
        // Lines written between the copy and the truncate are lost by copytruncate itself, in any
        // tailer; the model truncates only once what was written has been read.
        completePartial(n);
        await caughtUp(n);
        copyFileSync(path(n), `${path(n)}.ct${step}`);
        truncateSync(path(n), 0);
        newGeneration(n);
        break;
      case 'delete':
        if (!exists || statSync(path(n)).size === 0) break;
        await discovered(n);
        if (m.partial !== null) {
          expect1(n, m.partial);
          m.partial = null;
        }
        unlinkSync(path(n));
        deleted.push(`${n}.${m.gen}`);
        newGeneration(n);
        break;
      case 'restart': {
        // A deleted file lives only in the open descriptor: what was not read before warden stops
        // is gone with it. The model waits for deleted files to be read (sent) before stopping.
        const mustSee = deleted.flatMap((k) => expected.get(k) ?? []);
        await waitFor('deleted files drained before restart', () => mustSee.every((l) => sender.logs().includes(l)), 5000);
        // Acks withheld at stop: those chunks fail (as with a client closed while they were in
        // flight), their offsets stay uncommitted and the next pipeline sends them again.
        if (sender.hold) {
          sender.failHeld();
          dupsAllowed = true;
        }
        await p.stop();
        p = make();
        await p.start();
        break;
      }
      case 'hold':
        sender.hold = !sender.hold;
        if (!sender.hold) sender.release();
        break;
    }
    if (rand() < 0.3) await new Promise((r) => setTimeout(r, 30));
  }
  sender.release();
  const all = [...expected.values()].flat();
  try {
    await waitFor('every complete line', () => new Set(sender.logs()).size >= all.length && all.every((l) => sender.logs().includes(l)), 15_000);
  } catch (err) {
    const got = new Set(sender.logs());
    throw new Error(`seed ${seed}: missing ${all.filter((l) => !got.has(l)).slice(0, 5).join(', ')}; trace ${trace.join(' ')}`);
  } finally {
    await new Promise((r) => setTimeout(r, 300));
    await p.stop();
  }
  const written = new Set(all);
  const got = sender.got;
  // Nothing that was never written as a complete line appears (partials still open included).
  expect(got.filter((g) => !written.has(g.record.log)).map((g) => `${g.record.log.length}:${g.record.log.slice(-30)} trace ${trace.join(' ')}`), `seed ${seed}`).toEqual([]);
  // In order per file generation (first deliveries); duplicates only after chunks failed in flight.
  const byStream = new Map<string, string[]>();
  for (const g of got) {
    const key = g.record.log.split('.').slice(0, 2).join('.');
    if (!byStream.has(key)) byStream.set(key, []);
    byStream.get(key)!.push(g.record.log);
  }
  for (const [key, lines] of expected) {
    const seen = byStream.get(key) ?? [];
    expect([...new Set(seen)], `seed ${seed} stream ${key}; trace ${trace.join(' ')}`).toEqual(lines);
    if (!dupsAllowed) expect(seen.length, `seed ${seed} stream ${key}: duplicates`).toBe(lines.length);
  }
  // Metadata.
  for (const g of got) {
    expect(g.tag).toBe(`host.${g.record.log.split('.')[0]}`);
    expect(g.record.host).toBe('model-host');
  }
}

describe('tail pipeline against a model (in-memory acking sender)', () => {
  // TAIL_MODEL_SEEDS=1,2,3 explores more seeds (only those run then); TAIL_MODEL_STEPS sets the sequence length.
  const explore = process.env.TAIL_MODEL_SEEDS;
  const steps = Number(process.env.TAIL_MODEL_STEPS ?? 40);
  const runs: Array<[number, number]> = explore
    ? explore.split(',').map((s) => [Number(s), steps])
    : [
        [1, 40],
        [7, 40],
        [42, 40],
        // Seeds that once lost the last line of a rotated file at 80 steps: a file deleted while
        // rotated (a docker shift renames .1 over .2) and a quick restart before it was finished, and
        // a file recovered at start as .1 that was shifted to .2 before it was opened.
        [218, 80],
        [225, 80],
        [232, 80],
        [258, 80],
      ];
  for (const [seed, n] of runs) {
    it(`random write/partial/rotate/copytruncate/delete/restart/hold sequence, seed ${seed}, ${n} steps`, async () => {
      await runModel(seed, n);
    }, 30_000);
  }
});
