// The record shipped for a parsed line, as a plain object: its fields, and text made well formed.
import type { K8sMeta } from './kubernetes.js';
import type { Assembled } from './types.js';

export interface RecordMeta {
  k8s?: K8sMeta | null;
  dockerId?: string | null;
  host: string;
}

/**
 * The record shipped to fluentd (its time travels beside it as an EventTime):
 * `{ log, stream, kubernetes?, docker?, host, partial?, truncated?, parse_error?, time_out_of_range?, attrs? }`.
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
  if (a.time_out_of_range) r.time_out_of_range = true;
  if (a.attrs && Object.keys(a.attrs).length > 0) r.attrs = wellFormedAttrs(a.attrs);
  return r;
}

/** The fields every record of a file shares, in the order they are sent. */
export function metaFields(meta: RecordMeta): Record<string, unknown> {
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
export function wellFormedAttrs(attrs: Record<string, string>): Record<string, string> {
  let clean = true;
  for (const k in attrs) if (wellFormed(k) !== k || wellFormed(attrs[k]!) !== attrs[k]) clean = false;
  if (clean) return attrs;
  // fromEntries defines own properties: a "__proto__" key stays an attribute (`out[k] = v` would
  // set the copy's prototype to a string, which is ignored, and the attribute would be gone).
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [wellFormed(k), wellFormed(v)]));
}
