// A ChildSupervisor over real fixture processes, with a logger that keeps what it wrote, a metrics
// registry of its own and the states it went through; per-test clean-up for the child tests.
import { afterEach } from 'vitest';
import { createMetrics } from '../../agent/health/metrics.js';
import { ChildSupervisor, type ChildOptions } from '../../supervisor/child.js';
import type { ChildStatus } from '../../core/contracts.js';
import { tempDir } from './fixtures.js';
import { captureLogger } from './logs.js';

export function makeChild(opts: Partial<ChildOptions> & { command: string[]; port: number }) {
  const { logger, entries, lines } = captureLogger('debug');
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
  return { child, metrics, entries, lines, states };
}

/**
 * Per-file clean-up for the child tests: `make` is makeChild with the child stopped after each
 * test, `tempDir` a directory removed after each test.
 */
export function childScope() {
  const running: ChildSupervisor[] = [];
  const dirs: Array<() => void> = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
    for (const cleanup of dirs.splice(0)) cleanup();
  });
  return {
    make(opts: Parameters<typeof makeChild>[0]) {
      const h = makeChild(opts);
      running.push(h.child);
      return h;
    },
    tempDir(): string {
      const t = tempDir('warden-child-');
      dirs.push(t.cleanup);
      return t.dir;
    },
  };
}
