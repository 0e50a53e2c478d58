// Log capture in tests: a logger that keeps what it wrote (raw lines and parsed entries), and the
// parse of a spawned warden's JSON log.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/log.js';

export interface LogEntry {
  level: string;
  msg: string;
  [k: string]: any;
}

export interface CapturedLog {
  logger: Logger;
  /** Every line written, without its newline. */
  lines: string[];
  /** The same lines as objects. */
  entries: LogEntry[];
}

export function captureLogger(level = 'info'): CapturedLog {
  const lines: string[] = [];
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        lines.push(line);
        entries.push(JSON.parse(line));
      }
      cb();
    },
  });
  return { logger: createLogger(level, { stream, tty: false }), lines, entries };
}

/** warden's log lines (JSON on stdout) as objects; lines that are not JSON are returned raw. */
export function logLines(stdout: string): Array<LogEntry | string> {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as LogEntry;
      } catch {
        return l;
      }
    });
}

/** The JSON entries of a warden's log, lines that are not JSON left out. */
export function logEntries(stdout: string): LogEntry[] {
  return logLines(stdout).filter((l): l is LogEntry => typeof l === 'object');
}
