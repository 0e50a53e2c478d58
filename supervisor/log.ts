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
