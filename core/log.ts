// warden's own log: pino, JSON lines on stdout. Readable output only when stdout is a TTY, and
// never through a worker transport (worker threads cannot load files from inside a single
// executable).
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, opts: { stream?: NodeJS.WritableStream; tty?: boolean } = {}): Logger {
  const tty = opts.tty ?? (process.stdout.isTTY === true && !opts.stream);
  const destination = opts.stream ?? (tty ? prettyStream(process.stdout) : pino.destination({ dest: 1, sync: false }));
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

/**
 * Bytes `logger` has accepted and not yet written out: sonic-boom's buffer, or a Writable's
 * queue; 0 for a synchronous destination. What a flood of child output is measured against.
 */
export function logBacklogBytes(logger: Logger): number {
  const dest = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { _len?: unknown; writableLength?: unknown } | undefined;
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
