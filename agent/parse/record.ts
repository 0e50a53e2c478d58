import { EntryBuffer, newEncoder } from '../forward/protocol.js';
import type { LineBytes } from './bytes.js';
import { unescapeDockerText } from './docker.js';
import type { K8sMeta } from './kubernetes.js';
import type { Assembled } from './types.js';

export interface RecordMeta {
  k8s?: K8sMeta | null;
  dockerId?: string | null;
  host: string;
}

/**
 * The record shipped to fluentd (its time travels beside it as an EventTime):
 * `{ log, stream, kubernetes?, docker?, host, partial?, truncated?, parse_error?, attrs? }`.
 * Flags appear only when true; an unknown pod uid (metadata from a /var/log/containers name)
 * is left out rather than sent empty. Text is made well formed: a lone surrogate (a JSON `\ud800`
 * escape in a docker line) becomes U+FFFD, so the bytes sent are valid UTF-8.
 */
export function buildRecord(a: Assembled, meta: RecordMeta): Record<string, unknown> {
  // Host files have no stream (empty): the key is left out rather than sent empty.
  const r: Record<string, unknown> = a.stream === '' ? { log: wellFormed(a.log) } : { log: wellFormed(a.log), stream: wellFormed(a.stream) };
  Object.assign(r, metaFields(meta));
  if (a.partial) r.partial = true;
  if (a.truncated) r.truncated = true;
  if (a.parse_error) r.parse_error = true;
  if (a.attrs && Object.keys(a.attrs).length > 0) r.attrs = wellFormedAttrs(a.attrs);
  return r;
}

function metaFields(meta: RecordMeta): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  const k = meta.k8s;
  if (k) {
    r.kubernetes =
      k.pod_uid === ''
        ? { namespace_name: k.namespace_name, pod_name: k.pod_name, container_name: k.container_name }
        : { namespace_name: k.namespace_name, pod_name: k.pod_name, pod_uid: k.pod_uid, container_name: k.container_name };
  }
  if (meta.dockerId) r.docker = { container_id: meta.dockerId };
  r.host = meta.host;
  return r;
}

type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

/** Lone surrogates replaced by U+FFFD (O(1) for one-byte strings, the common case). */
export function wellFormed(s: string): string {
  const w = s as WellFormedString;
  return w.isWellFormed() ? s : w.toWellFormed();
}

/** `attrs` itself when all its text is well formed (the common case: no copy), else a cleaned copy. */
function wellFormedAttrs(attrs: Record<string, string>): Record<string, string> {
  let clean = true;
  for (const k in attrs) if (wellFormed(k) !== k || wellFormed(attrs[k]!) !== attrs[k]) clean = false;
  if (clean) return attrs;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) out[wellFormed(k)] = wellFormed(v);
  return out;
}

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
  const n = (a.stream === '' ? 1 : 2) + meta.pairs + (a.partial ? 1 : 0) + (a.truncated ? 1 : 0) + (a.parse_error ? 1 : 0) + (attrs ? 1 : 0);
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
