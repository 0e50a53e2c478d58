// What the numbers were measured on: cores, CPU model, memory, runtimes, warden's version, date.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { describeRuntime, SHIPPED_NODE_FLAGS, wardenCommand, type Checkout } from './warden.js';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryMiB: number;
  node: string;
  /** The V8 flags warden ran with (package.json config.nodeFlags). */
  nodeFlags: string;
  /** What warden ran as (describeRuntime). */
  runtime: string;
  warden: string;
  /**
   * The block devices' readahead under the bench's temp dir (the trees, the pods' buffers) and
   * under the program warden runs as. A page fault in a mapped binary reads that much around it,
   * so with a large readahead starting the binary caches most of it, charged to its pod.
   */
  readahead: string;
  date: string;
}

/** `read_ahead_kb` of the block device holding `path` ("no block device" for tmpfs, overlay and the like). */
export function readaheadOf(path: string): string {
  let dev: number;
  try {
    dev = statSync(path).dev;
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
  // Linux's dev_t: major in bits 8–19, minor in bits 0–7 and 20–31 (majors above 4095 do not occur).
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((Math.floor(dev / 1048576) & 0xfff) << 8);
  if (major === 0) return 'no block device';
  // A partition's queue is its disk's, one directory up.
  for (const q of [`/sys/dev/block/${major}:${minor}/queue/read_ahead_kb`, `/sys/dev/block/${major}:${minor}/../queue/read_ahead_kb`]) {
    try {
      return `${readFileSync(q, 'utf8').trim()} KiB`;
    } catch {
      // not this one
    }
  }
  return `unknown (no queue for block device ${major}:${minor})`;
}

export function describeMachine(checkout: Checkout): Machine {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // no /proc/cpuinfo (not Linux): keep "unknown"
  }
  let warden = 'unknown';
  // The program the runtime runs: the single executable, or node on dist/warden.mjs.
  const { argv, env } = wardenCommand(checkout, ['--version']);
  try {
    warden = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000, env }).trim();
  } catch (err) {
    warden = `unknown (${(err as Error).message.split('\n')[0]})`;
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    memoryMiB: Math.round(totalmem() / 1048576),
    node: process.version,
    nodeFlags: SHIPPED_NODE_FLAGS.join(' '),
    runtime: describeRuntime(checkout),
    warden,
    readahead: [...new Set([tmpdir(), argv[0]!])].map((p) => `${p}: ${readaheadOf(p)}`).join(', '),
    date: new Date().toISOString(),
  };
}
