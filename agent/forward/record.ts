// A parsed line's record written straight into a batch as a Forward entry: the same bytes as
// `encodeEntry(sec, nsec, buildRecord(a, meta))` (agent/parse/record.ts) without the record object.
// The file's constant fields are encoded once (packMeta); keys are precomputed bytes.
import { unescapeDockerText } from '../parse/docker.js';
import type { LineBytes } from '../parse/bytes.js';
import { metaFields, wellFormed, wellFormedAttrs, type RecordMeta } from '../parse/record.js';
import type { Assembled } from '../parse/types.js';
import { newEncoder } from './codec.js';
import type { EntryBuffer } from './entry-buffer.js';

/** A file's constant record fields (kubernetes, docker, host), msgpack-encoded once. */
export interface PackedMeta {
  pairs: number;
  bytes: Uint8Array;
}

/** Encode the meta fields once per file: the map pairs without their map header. */
export function packMeta(meta: RecordMeta): PackedMeta {
  const fields = metaFields(meta);
  const pairs = Object.keys(fields).length;
  // At most 3 pairs: a fixmap, whose header is the first byte.
  return { pairs, bytes: newEncoder().encode(fields).slice(1) };
}

const K_LOG = Uint8Array.of(0xa3, ...Buffer.from('log'));
const K_STREAM = Uint8Array.of(0xa6, ...Buffer.from('stream'));
const STDOUT = Uint8Array.of(...K_STREAM, 0xa6, ...Buffer.from('stdout'));
const STDERR = Uint8Array.of(...K_STREAM, 0xa6, ...Buffer.from('stderr'));
const K_PARTIAL = Uint8Array.of(0xa7, ...Buffer.from('partial'));
const K_TRUNCATED = Uint8Array.of(0xa9, ...Buffer.from('truncated'));
const K_PARSE_ERROR = Uint8Array.of(0xab, ...Buffer.from('parse_error'));
const K_TIME_OUT_OF_RANGE = Uint8Array.of(0xb1, ...Buffer.from('time_out_of_range'));
const K_ATTRS = Uint8Array.of(0xa5, ...Buffer.from('attrs'));

/**
 * Append `[EventTime, record]` for `a` to `out`: the same bytes as
 * `encodeEntry(a.sec, a.nsec, buildRecord(a, meta))`, without building the record object
 * (test/unit/forward/record-entry.test.ts compares the two on the parser cases and random records).
 */
export function writeRecordEntry(out: EntryBuffer, a: Assembled, meta: PackedMeta): void {
  let attrs: Record<string, string> | null = null;
  let attrKeys: string[] | null = null;
  if (a.attrs && Object.keys(a.attrs).length > 0) {
    attrs = wellFormedAttrs(a.attrs);
    attrKeys = Object.keys(attrs);
  }
  const n = (a.stream === '' ? 1 : 2) + meta.pairs + (a.partial ? 1 : 0) + (a.truncated ? 1 : 0) + (a.parse_error ? 1 : 0) + (a.time_out_of_range ? 1 : 0) + (attrs ? 1 : 0);
  out.entryHead(a.sec, a.nsec);
  out.fixmap(n);
  out.raw(K_LOG);
  out.str(wellFormed(a.log));
  if (a.stream === 'stdout') out.raw(STDOUT);
  else if (a.stream === 'stderr') out.raw(STDERR);
  else if (a.stream !== '') {
    out.raw(K_STREAM);
    out.str(wellFormed(a.stream));
  }
  out.raw(meta.bytes);
  if (a.partial) {
    out.raw(K_PARTIAL);
    out.true();
  }
  if (a.truncated) {
    out.raw(K_TRUNCATED);
    out.true();
  }
  if (a.parse_error) {
    out.raw(K_PARSE_ERROR);
    out.true();
  }
  if (a.time_out_of_range) {
    out.raw(K_TIME_OUT_OF_RANGE);
    out.true();
  }
  if (attrs && attrKeys) {
    out.raw(K_ATTRS);
    out.map(attrKeys.length);
    for (const k of attrKeys) {
      out.str(k);
      out.str(attrs[k]!);
    }
  }
}

/**
 * Append the entry of a line read as bytes (parseDockerBytes, parseCriBytes): the bytes
 * writeRecordEntry gives for the same line, with `log` unescaped (docker) or copied (CRI) from the
 * read buffer straight into the batch; well-formed UTF-8 is its own encoding.
 */
export function writeLineBytesEntry(out: EntryBuffer, data: Buffer, d: LineBytes, meta: PackedMeta): void {
  out.entryHead(d.sec, d.nsec);
  out.fixmap(2 + meta.pairs);
  out.raw(K_LOG);
  out.strHead(d.length);
  out.length = unescapeDockerText(data, d.start, d.end, d.length, out.bytes, out.length);
  out.raw(d.stream === 'stdout' ? STDOUT : STDERR);
  out.raw(meta.bytes);
}
