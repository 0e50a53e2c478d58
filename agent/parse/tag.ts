import type { K8sMeta } from './kubernetes.js';

/**
 * The Forward tag: `kube.<namespace>.<pod>.<container>`, `docker.<container_id>` or
 * `host.<file>` (the file's base name without `.log`).
 *
 * fluentd matches tags part by part, split on `.`: a pod named `web.v2` would otherwise make
 * `kube.ns.web.v2.app`, which `kube.*.*.*` does not match. So inside a part every character
 * other than [A-Za-z0-9_-] — the dot included — becomes `_`, one `_` per code point; an empty
 * part becomes `_`.
 */
export function tagFor(kind: { k8s?: K8sMeta | null; dockerId?: string | null }, path: string): string {
  if (kind.k8s) return `kube.${tagPart(kind.k8s.namespace_name)}.${tagPart(kind.k8s.pod_name)}.${tagPart(kind.k8s.container_name)}`;
  if (kind.dockerId) return `docker.${tagPart(kind.dockerId)}`;
  const base = path.slice(path.lastIndexOf('/') + 1);
  return `host.${tagPart(base.endsWith('.log') ? base.slice(0, -4) : base)}`;
}

/** One part of a tag: every character but [A-Za-z0-9_-] becomes `_`; empty becomes `_`. */
export function tagPart(s: string): string {
  return s === '' ? '_' : s.replace(/[^A-Za-z0-9_-]/gu, '_');
}
