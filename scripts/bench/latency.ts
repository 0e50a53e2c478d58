// Latency at a steady rate: a writer appends Docker lines to a few files while warden tails them
// from the end. Measured per line from the write to the sink's receipt: each line's log time is
// the wall clock at its write, the sink writes NDJSON (with that time) into a FIFO the bench
// reads, and the bench stamps each arrival. This covers discovery, read, parse, batching, the
// flush interval and the send; the ack's way back is the sink's own, one write later.
import { execFileSync } from 'node:child_process';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../gen-logs.js';
import { cpuSeconds, memoryMiB } from './proc.js';
import type { Scope } from './row.js';
import { containerId, DOCKER_DIR, dockerGlob, makeLine, newContainerFile } from './tree.js';
import { histogramQuantile, metricSum, sleep, startWarden, waitFor, waitReady } from './warden.js';

export interface LatencyOptions {
  rate: number;
  seconds: number;
  files: number;
  /** Lines written in the first `warmupS` seconds are not counted (JIT warm-up, first connects). */
  warmupS: number;
  /** Extra node flags for warden (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Extra `forward:` settings for warden (defaults otherwise). */
  forward?: Record<string, unknown>;
}

export interface LatencyResult {
  written: number;
  counted: number;
  achievedRate: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
  /** Seconds after the writer's start at which the slowest counted line was written. */
  maxAtS: number;
  /** Counted lines that took over a second. */
  overOneS: number;
  ackP50ms: number | null;
  ackP99ms: number | null;
  /** warden's CPU share of one core while it kept up with `rate`. */
  cpuPercent: number;
  rssMiB: number | null;
}

const wallMs = () => performance.timeOrigin + performance.now();

function wallNs(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** `2026-11-27T18:00:00.123456789Z` → epoch milliseconds with the fraction kept. */
function isoMs(iso: string): number {
  return Date.parse(iso.slice(0, 19) + 'Z') + Number(iso.slice(20, 29)) / 1e6;
}

/** Lines of the run that reached the sink (read from its FIFO): arrival delays after the warm-up. */
class Arrivals {
  readonly delays: number[] = [];
  received = 0;
  maxAt = 0;
  private maxDelay = -Infinity;
  warmupEndMs = Infinity;
  private carry = '';

  take(chunk: string): void {
    const now = wallMs();
    const parts = (this.carry + chunk).split('\n');
    this.carry = parts.pop()!;
    for (const p of parts) {
      const m = /"time":"([^"]+)"/.exec(p);
      if (!m || !p.includes('"log":"lat#')) continue;
      this.received++;
      const t = isoMs(m[1]!);
      if (t < this.warmupEndMs) continue;
      this.delays.push(now - t);
      if (now - t > this.maxDelay) {
        this.maxDelay = now - t;
        this.maxAt = t;
      }
    }
  }
}

/** `files` Docker files under `root`, open for appending, each with one line warden skips (read_from end). */
function openFiles(scope: Scope, root: string, files: number, r: () => number): number[] {
  const paths: string[] = [];
  for (let i = 0; i < files; i++) paths.push(newContainerFile(root, containerId(r)));
  const fds = paths.map((p) => openSync(p, 'a'));
  scope.defer(() => fds.forEach((fd) => closeSync(fd)));
  fds.forEach((fd, i) => writeSync(fd, makeLine(r, `pre${i}`, 0, wallNs(wallMs()))));
  return fds;
}

/** Writes `rate` lines/s spread over `fds` for `seconds`; warden's CPU is measured after the warm-up. */
async function writeSteadily(fds: number[], r: () => number, pid: number, opts: LatencyOptions, start: number, warmupEndMs: number) {
  let cpuStart: number | null = null;
  let cpuStartAt = 0;
  let written = 0;
  for (;;) {
    const now = wallMs();
    const elapsed = (now - start) / 1000;
    if (elapsed >= opts.seconds) break;
    if (cpuStart === null && now >= warmupEndMs) {
      cpuStart = cpuSeconds(pid);
      cpuStartAt = now;
    }
    const due = Math.floor(elapsed * opts.rate) - written;
    if (due > 0) {
      const ns = wallNs(now);
      const per: string[][] = fds.map(() => []);
      for (let i = 0; i < due; i++) per[(written + i) % fds.length]!.push(makeLine(r, 'lat', written + i, ns));
      per.forEach((lines, i) => lines.length && writeSync(fds[i]!, lines.join('')));
      written += due;
    }
    await sleep(5);
  }
  const cpuEnd = cpuSeconds(pid);
  const cpuPercent = cpuStart === null || cpuEnd === null ? NaN : ((cpuEnd - cpuStart) / ((wallMs() - cpuStartAt) / 1000)) * 100;
  return { written, cpuPercent };
}

export async function latency(scope: Scope, dir: string, opts: LatencyOptions): Promise<LatencyResult> {
  const root = join(dir, 'logs');
  const r = rng(42);
  const fds = openFiles(scope, root, opts.files, r);
  const fifo = join(dir, 'sink.fifo');
  execFileSync('mkfifo', [fifo]);
  const got = new Arrivals();
  const stream = createReadStream(fifo, { encoding: 'utf8', highWaterMark: 1 << 16 });
  stream.on('error', () => {});
  stream.on('data', (chunk) => got.take(chunk as string));
  scope.defer(() => stream.destroy());

  const w = await startWarden({ dir, globs: [dockerGlob(root)], roots: [join(root, DOCKER_DIR)], readFrom: 'end', sinkOut: fifo, nodeFlags: opts.nodeFlags, forward: opts.forward });
  scope.defer(() => w.stop());
  await waitReady(w);
  await waitFor('every latency file tailed', async () => metricSum(await w.metrics(), 'warden_tail_files') >= opts.files, 15_000);
  await sleep(500);

  const before = await w.metrics();
  const start = wallMs();
  got.warmupEndMs = start + opts.warmupS * 1000;
  const { written, cpuPercent } = await writeSteadily(fds, r, w.pid, opts, start, got.warmupEndMs);
  await waitFor(`all ${written} latency lines at the sink (${got.received} so far)`, () => got.received >= written, 15_000, 50);
  const after = await w.metrics();
  const mem = memoryMiB(w.pid);
  const arrivals = got.delays.sort((a, b) => a - b);
  const q = (p: number) => arrivals[Math.min(arrivals.length - 1, Math.floor(p * arrivals.length))]!;
  if (arrivals.length === 0) throw new Error('no line arrived after the warm-up');
  const ack = (p: number) => {
    const v = histogramQuantile(before, after, 'warden_forward_ack_latency_seconds', p);
    return v === null ? null : v * 1000;
  };
  return {
    written,
    counted: arrivals.length,
    achievedRate: written / opts.seconds,
    p50ms: q(0.5),
    p99ms: q(0.99),
    maxms: arrivals.at(-1)!,
    maxAtS: (got.maxAt - start) / 1000,
    overOneS: arrivals.length - arrivals.filter((a) => a <= 1000).length,
    ackP50ms: ack(0.5),
    ackP99ms: ack(0.99),
    cpuPercent,
    rssMiB: mem?.rss ?? null,
  };
}
