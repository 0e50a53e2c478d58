// The child's stdout and stderr into warden's log, bounded whatever the child writes: lines are
// cut at MAX_CHILD_LINE_BYTES, a JSON line becomes fields of the entry (at the child's level),
// indented continuation lines (stack traces) join the entry before them up to MAX_ENTRY_BYTES,
// and while warden's own log cannot keep up (its destination holds more than
// CHILD_LOG_BACKLOG_BYTES) the child's output is read and dropped, counted, so a child writing
// 50 MiB/s neither grows warden's memory nor blocks on a full pipe.
import type { Metrics } from '../agent/health/metrics.js';
import { LineRing, LineSplitter, MAX_CHILD_LINE_BYTES } from '../core/lines.js';
import { logBacklogBytes, type Logger } from '../core/log.js';


/** A joined entry (a line and its continuation lines) holds at most this many bytes and lines. */
export const MAX_ENTRY_BYTES = 64 * 1024;
export const MAX_ENTRY_LINES = 200;
/** Child output is dropped while warden's log destination holds more than this, unwritten. */
export const CHILD_LOG_BACKLOG_BYTES = 4 * 1024 * 1024;
/**
 * While warden's log is backed up the pipe is read one chunk per this many ms (each dropped): the
 * child is slowed, not blocked (a blocked child would stop acking and look hung), and warden does
 * not spend a core and its heap reading what it cannot log.
 */
export const BACKED_UP_PAUSE_MS = 10;
/** A text line waits this long for continuation lines before it is logged alone. */
const JOIN_WAIT_MS = 50;
/** Drops are reported in the log at most this often (each report is itself a log line). */
const DROP_REPORT_MS = 5000;
/** JSON nested deeper than this is logged as text: warden's own log must always serialise. */
const MAX_JSON_DEPTH = 8;

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const LEVEL_NAMES: Record<string, Level> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  information: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  panic: 'fatal',
};

/** A level as children write it: a name (any case) or pino's numbers (10 trace … 60 fatal). */
export function mapLevel(v: unknown): Level | null {
  if (typeof v === 'string') return LEVEL_NAMES[v.trim().toLowerCase()] ?? null;
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (v >= 60) return 'fatal';
    if (v >= 50) return 'error';
    if (v >= 40) return 'warn';
    if (v >= 30) return 'info';
    if (v >= 20) return 'debug';
    return 'trace';
  }
  return null;
}

/** Keys of warden's own entry; a child's field of that name is kept as `child_<key>`. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'child', 'stream', 'v']);

/**
 * A child's JSON log line as the fields, level and message of warden's entry; null when the line
 * is not a JSON object (or nests too deep to log safely).
 */
export function parseJsonLine(line: string): { level: Level; msg: string | undefined; fields: Record<string, unknown> } | null {
  const t = line.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return null;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !depthWithin(v, MAX_JSON_DEPTH)) return null;
  const obj = v as Record<string, unknown>;
  const levelKey = ['level', 'severity', 'lvl'].find((k) => mapLevel(obj[k]) !== null);
  const msgKey = ['msg', 'message'].find((k) => typeof obj[k] === 'string');
  const fields: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(obj)) {
    if (k === levelKey || k === msgKey) continue;
    fields[RESERVED.has(k) ? `child_${k}` : k] = val;
  }
  return { level: levelKey ? mapLevel(obj[levelKey])! : 'info', msg: msgKey ? (obj[msgKey] as string) : undefined, fields };
}

/**
 * fluentd's plain log format, `2026-12-01 10:00:00 +0000 [warn]: #0 msg` (the time, optionally with
 * fractional seconds, its UTC offset, then the level in brackets).
 */
const FLUENTD_PLAIN = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)? [+-]\d{2}:?\d{2} \[([a-z]+)\]: /;

/**
 * The level a child's plain text line states (fluentd's format): the entry is logged at it, its
 * text unchanged. Null for any other text, which is logged at info.
 */
export function plainLineLevel(line: string): Level | null {
  const m = FLUENTD_PLAIN.exec(line);
  return m ? mapLevel(m[1]) : null;
}

function depthWithin(v: unknown, left: number): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (left === 0) return false;
  for (const x of Object.values(v)) if (!depthWithin(x, left - 1)) return false;
  return true;
}

/** A stack trace's later lines: indented (`    at …`, `\tfrom …`), or Java's `Caused by:`. */
export function isContinuation(line: string): boolean {
  return /^(?:[ \t]+\S|Caused by: )/.test(line);
}

/** One run's output: both streams share its ring of last lines and its drop count. */
export class ChildOutput {
  readonly ring: LineRing;
  private dropped = 0;
  private droppedReported = 0;
  private lastReport = 0;

  constructor(
    readonly logger: Logger,
    readonly metrics: Metrics,
    readonly child: string,
    lastLines: number,
    /** What the child's lines must not carry into the log (secrets it was handed), and what is shown instead. */
    readonly redact: (line: string) => string = (line) => line,
    /** Told each line (redacted) as it comes, before it is logged. */
    readonly observe?: (line: string) => void,
  ) {
    this.ring = new LineRing(lastLines);
  }

  stream(name: 'stdout' | 'stderr'): ChildStream {
    return new ChildStream(this, name);
  }

  /** True while warden's log is too far behind to take child output. */
  backedUp(): boolean {
    return logBacklogBytes(this.logger) > CHILD_LOG_BACKLOG_BYTES;
  }

  countDropped(lines: number): void {
    if (lines <= 0) return;
    this.dropped += lines;
    this.metrics.childLogDropped.inc(lines);
  }

  /** Logs what was dropped since the last report, at most every DROP_REPORT_MS unless `force`. */
  reportDrops(force = false): void {
    const n = this.dropped - this.droppedReported;
    if (n === 0) return;
    const now = Date.now();
    if (!force && now - this.lastReport < DROP_REPORT_MS) return;
    this.lastReport = now;
    this.droppedReported = this.dropped;
    this.logger.warn({ child: this.child, dropped_lines: n, dropped_total: this.dropped }, "child output dropped: warden's log could not keep up");
  }
}

interface PendingEntry {
  lines: string[];
  bytes: number;
  truncatedBytes: number;
}

export class ChildStream {
  private readonly splitter: LineSplitter;
  private pending: PendingEntry | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastLineAt = 0;

  constructor(
    private readonly out: ChildOutput,
    private readonly name: 'stdout' | 'stderr',
  ) {
    this.splitter = new LineSplitter(MAX_CHILD_LINE_BYTES, (line, cut) => this.onLine(line, cut));
  }

  /** False when `chunk` was dropped because warden's log is backed up: the caller pauses the pipe a little. */
  write(chunk: Buffer): boolean {
    if (this.out.backedUp()) {
      this.out.countDropped(this.splitter.discard(chunk));
      return false;
    }
    this.out.reportDrops();
    this.splitter.write(chunk);
    return true;
  }

  end(): void {
    this.splitter.end();
    this.flush();
    this.out.reportDrops(true);
  }

  private onLine(raw: string, truncatedBytes: number): void {
    const line = this.out.redact(raw);
    this.out.ring.push(line);
    this.out.observe?.(line);
    this.lastLineAt = Date.now();
    const p = this.pending;
    if (p && isContinuation(line) && p.lines.length < MAX_ENTRY_LINES && p.bytes + 1 + line.length <= MAX_ENTRY_BYTES) {
      p.lines.push(line);
      p.bytes += 1 + line.length;
      p.truncatedBytes += truncatedBytes;
      return;
    }
    this.flush();
    const json = truncatedBytes === 0 ? parseJsonLine(line) : null;
    if (json) {
      this.out.logger[json.level]({ ...json.fields, child: this.out.child, stream: this.name }, json.msg);
      return;
    }
    this.pending = { lines: [line], bytes: line.length, truncatedBytes };
    this.timer ??= setTimeout(() => this.onTimer(), JOIN_WAIT_MS);
  }

  private onTimer(): void {
    this.timer = null;
    const idle = Date.now() - this.lastLineAt;
    if (this.pending && idle < JOIN_WAIT_MS) this.timer = setTimeout(() => this.onTimer(), JOIN_WAIT_MS - idle);
    else this.flush();
  }

  private flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const fields: Record<string, unknown> = { child: this.out.child, stream: this.name };
    if (p.lines.length > 1) fields.lines = p.lines.length;
    if (p.truncatedBytes > 0) {
      fields.truncated = true;
      fields.truncated_bytes = p.truncatedBytes;
    }
    this.out.logger[plainLineLevel(p.lines[0]!) ?? 'info'](fields, p.lines.join('\n'));
  }
}
