// Readers of what a sink wrote: NDJSON records, one a line.
import { existsSync, readFileSync } from 'node:fs';

export interface SinkRecord {
  tag: string;
  time?: unknown;
  record: Record<string, any>;
}

/**
 * Every complete record in `path` so far (none when it does not exist yet). A last line without
 * its newline is being written right now and is left out; any other line that is not JSON throws.
 */
export function readNdjson(path: string): SinkRecord[] {
  if (!existsSync(path)) return [];
  const complete = readFileSync(path, 'utf8').split('\n').slice(0, -1);
  return complete.filter(Boolean).map((l) => JSON.parse(l) as SinkRecord);
}

/** The `log` field of every complete record in `path`, in order. */
export function sinkLogs(path: string): string[] {
  return readNdjson(path).map((r) => r.record.log as string);
}
