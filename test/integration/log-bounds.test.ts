// Issue 15 item 9: warden's own log when stdout does not take what is written. A real process
// (test/fixtures/log/stuck-stdout.ts) logs through createLogger with fd 1 on a pipe read by nobody
// (`sleep`'s stdin), or read by this test.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_MAX_UNWRITTEN_BYTES } from '../../core/log.js';
import { ROOT, sleep } from '../support/index.js';

const SCRIPT = join(ROOT, 'test/fixtures/log/stuck-stdout.ts');
const cleanups: Array<() => unknown> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

interface Report {
  entries: number;
  unwritten: number;
  dropped: number;
  rssGrownMib: number;
}

/** Runs the fixture with its stdout on `stdout` (or a pipe this test reads); its report, exit code and stdout lines. */
async function run(env: Record<string, string>, stdout?: Writable): Promise<{ report: Report; code: number | null; lines: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', stdout ?? 'pipe', 'pipe'] });
  cleanups.push(() => proc.kill('SIGKILL'));
  let err = '';
  let lines = 0;
  proc.stderr!.on('data', (d) => (err += d));
  proc.stdout?.on('data', (d: Buffer) => {
    for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++;
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const code = await Promise.race([exited, sleep(20_000).then(() => 'running' as const)]);
  expect(code, `still running 20 s on; stderr: ${err}`).not.toBe('running');
  const report = JSON.parse(err.split('\n').find((l) => l.startsWith('{')) ?? 'null') as Report;
  expect(report, err).not.toBeNull();
  return { report, code: code as number | null, lines };
}

describe("warden's own log on a stdout nobody reads", () => {
  it('holds at most LOG_MAX_UNWRITTEN_BYTES unwritten and counts what it drops; flushLog gives up at its deadline and the process exits', async () => {
    const reader = spawn('sleep', ['1000'], { stdio: ['pipe', 'ignore', 'ignore'] });
    cleanups.push(() => reader.kill('SIGKILL'));
    const t0 = Date.now();
    const { report, code } = await run({ MIB: '64', FLUSH_MS: '500' }, reader.stdin!);
    expect(report.unwritten).toBeGreaterThan(0);
    expect(report.unwritten).toBeLessThanOrEqual(LOG_MAX_UNWRITTEN_BYTES);
    expect(report.dropped).toBeGreaterThan(report.entries / 2);
    // Held whole, the 64 MiB of entries would be more than that in the heap.
    expect(report.rssGrownMib).toBeLessThan(64);
    expect(code).toBe(3);
    expect(Date.now() - t0).toBeLessThan(15_000);
  }, 30_000);

  it('a stdout that is read gets every entry, and flushLog returns once they are written', async () => {
    const { report, code, lines } = await run({ MIB: '4', FLUSH_MS: '5000' });
    expect(report.dropped).toBe(0);
    expect(code).toBe(0);
    expect(lines).toBe(report.entries);
  }, 30_000);
});
