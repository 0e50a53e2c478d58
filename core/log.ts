// warden's own log: pino, JSON lines on stdout. Readable output only when stdout is a TTY, and
// never through a worker transport (worker threads cannot load files from inside a single
// executable). Bounded when stdout does not take what is written (a pipe nobody reads): what
// waits unwritten is capped, and so is the wait for it at exit.
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The log holds at most this many bytes not yet written; an entry beyond it is dropped (see
 * onLogDropped). Above the child's output threshold (CHILD_LOG_BACKLOG_BYTES, 4 MiB) plus what one
 * read of a flooding child logs, so a child's flood is cut before warden's own entries are.
 */
export const LOG_MAX_UNWRITTEN_BYTES = 8 * 1024 * 1024;

/** Set on a destination once flushLog gave up on it. */
const abandonedSym = Symbol('warden.logAbandoned');

interface BoomLike {
  _len?: unknown;
  writableLength?: unknown;
  flushSync?: () => void;
  on?: (event: string, fn: (...args: unknown[]) => void) => unknown;
  [abandonedSym]?: boolean;
}

export function createLogger(level: string, opts: { stream?: NodeJS.WritableStream; tty?: boolean } = {}): Logger {
  const tty = opts.tty ?? (process.stdout.isTTY === true && !opts.stream);
  const destination = opts.stream ?? (tty ? prettyStream(process.stdout) : stdoutDestination());
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream,
  );
}

function stdoutDestination(): pino.DestinationStream {
  // Opening process.stdout makes fd 1 non-blocking where it is a pipe or a socket (libuv does), so
  // a write to a pipe nobody reads fails with EAGAIN instead of blocking a thread of libuv's pool:
  // such a thread holds even process.exit() until the pipe is read.
  void process.stdout;
  const dest = pino.destination({
    dest: 1,
    sync: false,
    maxLength: LOG_MAX_UNWRITTEN_BYTES,
    // Once given up on, a write that would block is not retried: nothing is left to keep the loop alive.
    retryEAGAIN: () => !(dest as unknown as BoomLike)[abandonedSym],
  });
  // A given-up write ends in an error (EAGAIN, not retried): expected then. Any other error is
  // thrown, as pino would without this listener.
  dest.on('error', (err: Error) => {
    if (!(dest as unknown as BoomLike)[abandonedSym]) throw err;
  });
  return dest;
}

function destinationOf(logger: Logger): BoomLike | undefined {
  return (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as BoomLike | undefined;
}

/** Calls `fn` for every entry `logger` drops because LOG_MAX_UNWRITTEN_BYTES are waiting. */
export function onLogDropped(logger: Logger, fn: () => void): void {
  destinationOf(logger)?.on?.('drop', () => fn());
}

/**
 * Waits up to `ms` for everything `logger` took to be written out; true once it is. False when the
 * destination did not take it in time (a pipe nobody reads): the log is then given up — what waits
 * is never written, later entries are dropped, and pino's flush at process exit, which would
 * retry until the pipe is read, does nothing.
 */
export async function flushLog(logger: Logger, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (logBacklogBytes(logger) > 0) {
    if (Date.now() >= deadline) {
      abandon(destinationOf(logger));
      return false;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function abandon(dest: BoomLike | undefined): void {
  if (!dest || typeof dest.flushSync !== 'function') return;
  dest[abandonedSym] = true;
  // As pino itself does with a destination that returned EPIPE.
  const d = dest as unknown as Record<string, unknown>;
  for (const method of ['write', 'flushSync', 'end', 'destroy']) d[method] = () => {};
}

/**
 * Bytes `logger` has accepted and not yet written out: sonic-boom's buffer, or a Writable's
 * queue; 0 for a synchronous destination. What a flood of child output is measured against.
 */
export function logBacklogBytes(logger: Logger): number {
  const dest = destinationOf(logger);
  if (!dest) return 0;
  if (typeof dest._len === 'number') return dest._len;
  if (typeof dest.writableLength === 'number') return dest.writableLength;
  return 0;
}

/** A small synchronous pretty-printer for terminals: `time LEVEL msg key=value …`. */
function prettyStream(out: NodeJS.WriteStream): pino.DestinationStream {
  return {
    write(line: string) {
      try {
        const { time, level, msg, pid: _pid, ...rest } = JSON.parse(line);
        const extra = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
          .join(' ');
        out.write(`${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)} ${msg ?? ''}${extra ? ' ' + extra : ''}\n`);
      } catch {
        out.write(line);
      }
    },
  };
}
