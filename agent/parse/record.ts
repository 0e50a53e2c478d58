import type { K8sMeta } from './kubernetes.js';
import type { Assembled } from './types.js';

/**
 * The record shipped to fluentd (its time travels beside it as an EventTime):
 * `{ log, stream, kubernetes?, docker?, host, partial?, truncated?, parse_error?, attrs? }`.
 * Flags appear only when true; an unknown pod uid (metadata from a /var/log/containers name)
 * is left out rather than sent empty.
 */
export function buildRecord(a: Assembled, meta: { k8s?: K8sMeta | null; dockerId?: string | null; host: string }): Record<string, unknown> {
  const r: Record<string, unknown> = { log: a.log, stream: a.stream };
  const k = meta.k8s;
  if (k) {
    r.kubernetes =
      k.pod_uid === ''
        ? { namespace_name: k.namespace_name, pod_name: k.pod_name, container_name: k.container_name }
        : { namespace_name: k.namespace_name, pod_name: k.pod_name, pod_uid: k.pod_uid, container_name: k.container_name };
  }
  if (meta.dockerId) r.docker = { container_id: meta.dockerId };
  r.host = meta.host;
  if (a.partial) r.partial = true;
  if (a.truncated) r.truncated = true;
  if (a.parse_error) r.parse_error = true;
  if (a.attrs && Object.keys(a.attrs).length > 0) r.attrs = a.attrs;
  return r;
}
