// Where the sink's NDJSON goes (a file opened for append, stdout) and how a record becomes a line.
import { accessSync, constants as fsConstants, createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
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

export function openOutput(path: string): Output {
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
