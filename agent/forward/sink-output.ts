// Where the sink's NDJSON goes (a file opened for append, stdout) and how a record becomes a line.
import { accessSync, closeSync, constants as fsConstants, createWriteStream, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { timeParts } from './decode.js';
import { SinkOutputError } from './errors.js';
import type { EventTime } from './codec.js';

/** Where NDJSON goes: a file opened for append, stdout, or nowhere (count-only). */
export interface Output {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** The seconds part of an ISO-8601 UTC time: `2026-11-27T18:00:00`. */
function isoSeconds(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19);
}

function isoTime(prefix: string, nsec: number): string {
  return `${prefix}.${String(nsec).padStart(9, '0')}Z`;
}

/** ISO-8601 UTC with 9 fractional digits: 2026-11-27T18:00:00.123456789Z */
export function formatTime(t: EventTime | number): string {
  const { sec, nsec } = timeParts(t);
  return isoTime(isoSeconds(sec), nsec);
}

/**
 * NDJSON lines `{"tag", "time", "record"}`, one formatter per connection. Formatting the seconds is
 * the costly half of a timestamp and records of one chunk mostly share them: the last is kept.
 */
export class NdjsonLines {
  private sec = -1;
  private prefix = '';

  time(t: EventTime | number): string {
    const { sec, nsec } = timeParts(t);
    if (sec !== this.sec) {
      this.sec = sec;
      this.prefix = isoSeconds(sec);
    }
    return isoTime(this.prefix, nsec);
  }

  line(tag: string, t: EventTime | number, record: Record<string, unknown>): string {
    return `{"tag":${JSON.stringify(tag)},"time":"${this.time(t)}","record":${JSON.stringify(record)}}\n`;
  }
}

/**
 * `path` is `-` (stdout) or a file to append to. A regular file that ends in an unfinished line
 * (a sink killed in the middle of a write) has that line cut first, `onCut` told its bytes: it was
 * never acked, so the sender sends its records again, and the first line appended here would
 * otherwise be glued to it, an acked record no NDJSON reader could parse.
 */
export function openOutput(path: string, onCut?: (bytes: number) => void): Output {
  if (path === '-') {
    return {
      write: (text) => new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(new SinkOutputError(`sink output stdout: ${err.message}`)) : resolve()))),
      close: async () => {},
    };
  }
  mkdirSync(dirname(path), { recursive: true });
  // Fail at start, naming the file, rather than on the first chunk. Not by opening it here: a
  // FIFO's open blocks until a reader comes, and the write stream opens it in the background.
  try {
    accessSync(existsSync(path) ? path : dirname(path), fsConstants.W_OK);
  } catch (err) {
    throw new Error(`sink output ${path}: not writable (${(err as Error).message})`);
  }
  const cut = cutUnfinishedLine(path);
  if (cut > 0) onCut?.(cut);
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  let failed: Error | null = null;
  stream.on('error', (err) => {
    failed = err;
  });
  return {
    write: (text) =>
      new Promise((resolve, reject) => {
        if (failed) return reject(new SinkOutputError(`sink output ${path}: ${failed.message}`));
        stream.write(text, (err) => (err ? reject(new SinkOutputError(`sink output ${path}: ${err.message}`)) : resolve()));
      }),
    close: () => new Promise((resolve) => (failed ? resolve() : stream.end(() => resolve()))),
  };
}

/** Cuts what follows the last newline of a regular file; returns the bytes cut (0 for anything else). */
function cutUnfinishedLine(path: string): number {
  let fd: number;
  try {
    // Only a regular file is opened here: opening a FIFO read-write and closing it would end the
    // reader on its other side (no writer left) before the stream below opens it. O_NONBLOCK
    // still, should the path be swapped for one between the stat and the open.
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return 0;
    fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  } catch {
    return 0; // missing (the stream creates it) or not openable read-write: the stream reports what matters
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size === 0) return 0;
    const block = Buffer.allocUnsafe(Math.min(64 * 1024, st.size));
    let end = st.size;
    while (end > 0) {
      const from = Math.max(0, end - block.length);
      const want = end - from;
      for (let n = 0; n < want; ) {
        const got = readSync(fd, block, n, want - n, from + n);
        if (got === 0) return 0; // shrunk meanwhile: not the sink's own file, left alone
        n += got;
      }
      const nl = block.lastIndexOf(0x0a, want - 1);
      if (nl >= 0) {
        end = from + nl + 1;
        break;
      }
      end = from;
    }
    if (end === st.size) return 0;
    ftruncateSync(fd, end);
    return st.size - end;
  } finally {
    closeSync(fd);
  }
}
