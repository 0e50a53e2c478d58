// Shared by the child*.test.ts files: real fixture processes, a free loopback port, a logger that
// keeps what it wrote, and a metrics registry of our own.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { ChildSupervisor, type ChildOptions } from '../../supervisor/child.js';
import type { ChildStatus } from '../../core/contracts.js';
import { createLogger } from '../../core/log.js';

export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/children/${name}`, import.meta.url));

export { freePort } from '../../scripts/lib/util.js';

export interface LogEntry {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export function captureLogger() {
  const entries: LogEntry[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        raw.push(line);
        entries.push(JSON.parse(line));
      }
      cb();
    },
  });
  return { logger: createLogger('debug', { stream, tty: false }), entries, raw };
}

export function makeChild(opts: Partial<ChildOptions> & { command: string[]; port: number }) {
  const { logger, entries, raw } = captureLogger();
  const metrics = createMetrics({ defaults: false });
  const states: { state: ChildStatus['state']; pid: number | null; at: number }[] = [];
  const child = new ChildSupervisor({
    env: { PORT: String(opts.port) },
    stopSignal: 'SIGTERM',
    reloadSignal: 'SIGUSR2',
    stopGraceS: 2,
    readyTimeoutS: 10,
    restart: { backoff_initial_ms: 20, backoff_max_ms: 300, stable_after_s: 60, degraded_after: 5 },
    forwardTo: `tcp://127.0.0.1:${opts.port}`,
    logger,
    metrics,
    ...opts,
  });
  child.on('state', (s: ChildStatus) => states.push({ state: s.state, pid: s.pid, at: Date.now() }));
  return { child, metrics, entries, raw, states };
}

export async function until<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether `pid` runs: exists and is not a zombie (an orphan waits for PID 1 to reap it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether any process of group `pgid` still runs: `kill(-pgid, 0)`, then zombies discounted via /proc. */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

export async function metricValue(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => (x.labels as Record<string, unknown>)[k] === val));
  return v ? Number(v.value) : 0;
}

/**
 * Per-file clean-up for the child tests: `make` is makeChild with the child stopped after each
 * test, `tempDir` a directory removed after each test.
 */
export function childScope() {
  const running: ChildSupervisor[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    make(opts: Parameters<typeof makeChild>[0]) {
      const h = makeChild(opts);
      running.push(h.child);
      return h;
    },
    tempDir(): string {
      const d = mkdtempSync(join(tmpdir(), 'warden-child-'));
      dirs.push(d);
      return d;
    },
  };
}
