// Kubernetes metadata from the paths kubelet writes. The authoritative source is the directory
// under /var/log/pods that a /var/log/containers symlink resolves to: kubelet cuts the symlink's
// name to 255 bytes (ext4's limit), which can cut the container id and even the container name,
// while the pods path is never cut. Namespace and pod names cannot hold `_` (DNS names), and a
// pod uid is a UUID or a hash, so `_` separates the parts unambiguously.

export interface K8sMeta {
  namespace_name: string;
  pod_name: string;
  /** Empty when only the /var/log/containers name was available. */
  pod_uid: string;
  container_name: string;
}

// <ns>_<pod>_<uid>/<container>/<restart>.log, or kubelet's rotated <restart>.log.<YYYYMMDD-HHMMSS>,
// which a reader that had the file open before rotation still drains. `.gz` copies are compressed
// archives, never tailed, so they get no metadata.
const PODS_PATH = /(?:^|\/)pods\/([^/_]+)_([^/_]+)_([^/_]+)\/([^/]+)\/\d+\.log(?:\.\d{8}-\d{6})?$/;

export function k8sMetaFromPath(resolvedPath: string): K8sMeta | null {
  const m = PODS_PATH.exec(resolvedPath);
  if (!m) return null;
  return { namespace_name: m[1]!, pod_name: m[2]!, pod_uid: m[3]!, container_name: m[4]! };
}

// <pod>_<ns>_<container>-<64 hex container id>.log; a name cut at 255 bytes fails the id part.
const CONTAINERS_NAME = /^([^/_]+)_([^/_]+)_([^/]+)-([0-9a-f]{64})\.log$/;

/** Fallback when the symlink cannot be resolved into /var/log/pods. `name` may be a full path. */
export function k8sMetaFromContainersName(name: string): (K8sMeta & { container_id: string }) | null {
  const m = CONTAINERS_NAME.exec(name.slice(name.lastIndexOf('/') + 1));
  if (!m) return null;
  return { namespace_name: m[2]!, pod_name: m[1]!, pod_uid: '', container_name: m[3]!, container_id: m[4]! };
}

// /var/lib/docker/containers/<id>/<id>-json.log, and json-file's rotated <id>-json.log.<N>.
const DOCKER_PATH = /(?:^|\/)([0-9a-f]{64})\/([0-9a-f]{64})-json\.log(?:\.\d+)?$/;

export function dockerContainerId(path: string): string | null {
  const m = DOCKER_PATH.exec(path);
  return m && m[1] === m[2] ? m[1]! : null;
}

/**
 * Metadata for a file found at `path` that resolves to `resolvedPath`: the /var/log/pods path
 * first, the /var/log/containers name only as a fallback (its pod uid is unknown), and the docker
 * container id for json-file logs.
 */
export function pathMeta(path: string, resolvedPath: string): { k8s: K8sMeta | null; dockerId: string | null } {
  const fromName = k8sMetaFromContainersName(path);
  const k8s = k8sMetaFromPath(resolvedPath) ?? (fromName && {
    namespace_name: fromName.namespace_name,
    pod_name: fromName.pod_name,
    pod_uid: fromName.pod_uid,
    container_name: fromName.container_name,
  });
  return { k8s, dockerId: dockerContainerId(resolvedPath) ?? dockerContainerId(path) };
}
