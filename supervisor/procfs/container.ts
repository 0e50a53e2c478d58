// warden's own container id (64 hex), so that its own container log can be left out of what it
// tails: from /proc/self/cgroup first (names our own container), else from /proc/self/mountinfo
// (the runtime bind-mounts /etc/hostname, /etc/hosts and /etc/resolv.conf from the container's
// directory). Neither names it under a private cgroup v2 namespace on containerd (`0::/`, and
// containerd's mounts name the pod sandbox, not the container): then only the pod's own names
// (POD_NAME, POD_NAMESPACE) exclude its logs.
import { join } from 'node:path';
import { forEachLine, readText } from './read.js';

export interface OwnContainer {
  id: string;
  /** Which file named it. */
  source: 'cgroup' | 'mountinfo';
}

/**
 * A cgroup path segment that is a container: Docker's `/docker/<id>` and cgroupfs
 * `/kubepods/…/<id>`, and the systemd scopes `docker-<id>.scope`, `cri-containerd-<id>.scope`,
 * `crio-<id>.scope`, `libpod-<id>.scope`. cri-o's `crio-conmon-<id>.scope` is its monitor process,
 * not a container warden could run in.
 */
const CGROUP_SEGMENT = /^(?:(?:docker|cri-containerd|containerd|crio|libpod)-)?([0-9a-f]{64})(?:\.scope)?$/;

/**
 * The source of a runtime's per-container bind mount: Docker's `…/containers/<id>/hostname`
 * (`/var/lib/docker/containers/<id>/`, or `/containers/<id>/` when /var/lib/docker is its own
 * filesystem), cri-o's and podman's `…/overlay-containers/<id>/userdata/hostname`.
 */
const MOUNT_SOURCE = /\/(?:overlay-)?containers\/([0-9a-f]{64})\//;
/** Only these mount points are the container's own; a mount of the host's /var/lib/docker shows other containers' ids. */
const OWN_MOUNT_POINTS = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

/** The innermost container id in `/proc/self/cgroup`'s paths; null when none names one. */
export function containerIdFromCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /^\d+:[^:]*:(.*)$/.exec(line.trim());
    if (!m) continue;
    const id = m[1]!.split('/').reverse().map((s) => CGROUP_SEGMENT.exec(s)?.[1]).find((x) => x !== undefined);
    if (id) return id;
  }
  return null;
}

/** The container id in the source of the /etc/hostname, /etc/hosts or /etc/resolv.conf bind mount. */
export function containerIdFromMountinfo(text: string): string | null {
  for (const line of text.split('\n')) {
    const id = containerIdFromMount(line);
    if (id) return id;
  }
  return null;
}

/** One mountinfo line: the container id if it is one of those bind mounts, else null. */
function containerIdFromMount(line: string): string | null {
  // id parent major:minor root mount-point …: the root is the mounted path inside its filesystem.
  const f = line.split(' ');
  if (f.length < 5 || !OWN_MOUNT_POINTS.has(f[4]!)) return null;
  return MOUNT_SOURCE.exec(f[3]!)?.[1] ?? null;
}

/** warden's own container, read under `procRoot` (a fixture tree in tests); null outside a container or when unnamed. */
export function ownContainer(procRoot = '/proc'): OwnContainer | null {
  const cgroup = readText(join(procRoot, 'self/cgroup'));
  const fromCgroup = cgroup ? containerIdFromCgroup(cgroup) : null;
  if (fromCgroup) return { id: fromCgroup, source: 'cgroup' };
  // A line per mount of the namespace, and a node's can be long: read a line at a time.
  let fromMounts: string | null = null;
  forEachLine(join(procRoot, 'self/mountinfo'), (line) => (fromMounts = containerIdFromMount(line)) !== null);
  return fromMounts ? { id: fromMounts, source: 'mountinfo' } : null;
}
