// What the numbers were measured on: cores, CPU model, memory, runtimes, warden's version, date.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
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
  date: string;
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
  try {
    const { argv, env } = wardenCommand(checkout, ['--version']);
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
    date: new Date().toISOString(),
  };
}
