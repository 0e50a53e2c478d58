// Bytes given up, never silently: every byte is counted in warden_bytes_lost_total{reason}, and
// every event is logged with its path — up to PER_WINDOW lines per reason and window. Past that
// (thousands of files deleted at once) the rest of the window is one summary line per reason with
// the number of files, the bytes and a few of the paths, so the log says what was lost without
// thousands of lines.
import type { Logger } from '../../core/log.js';
import type { LostReason } from '../health/labels.js';
import type { Metrics } from '../health/metrics.js';

const PER_WINDOW = 10;
const WINDOW_MS = 1000;
const SAMPLE_PATHS = 5;

interface Held {
  files: number;
  bytes: number;
  paths: string[];
}

export class LossReporter {
  private windowStart = -Infinity;
  private readonly logged = new Map<string, number>();
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** `bytes` of the file at `path` will never be read (`reason`, e.g. `rotated_max_files`). */
  lost(reason: LostReason, bytes: number, path: string, msg: string, fields: Record<string, unknown> = {}): void {
    if (bytes <= 0) return;
    this.metrics.bytesLost.inc({ reason }, bytes);
    const now = this.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.flush();
      this.windowStart = now;
      this.logged.clear();
    }
    const n = this.logged.get(reason) ?? 0;
    if (n < PER_WINDOW) {
      this.logged.set(reason, n + 1);
      this.logger.warn({ path, ...fields, reason, bytes }, msg);
      return;
    }
    let h = this.held.get(reason);
    if (!h) this.held.set(reason, (h = { files: 0, bytes: 0, paths: [] }));
    h.files++;
    h.bytes += bytes;
    if (h.paths.length < SAMPLE_PATHS) h.paths.push(path);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, WINDOW_MS);
      this.timer.unref();
    }
  }

  /** Log what was held back (also at stop: nothing counted goes unlogged). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const [reason, h] of this.held) {
      this.logger.warn({ reason, files: h.files, bytes: h.bytes, paths: h.paths }, 'more files given up before they were read (one line for all of them)');
    }
    this.held.clear();
  }
}
