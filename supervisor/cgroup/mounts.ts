// Where our cgroups are: /proc/self/cgroup says which cgroup per hierarchy, /proc/self/mountinfo
// where each hierarchy is mounted; never guessed mount points. v2, v1 and hybrids of both.
import { statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { forEachLine, readText } from '../procfs/read.js';

export type CgroupVersion = 'v1' | 'v2' | 'hybrid' | 'none';

export interface CgroupSources {
  /** Path of /proc/self/cgroup (before the root prefix). */
  procSelfCgroup?: string;
  /** Path of /proc/self/mountinfo (before the root prefix). */
  mountinfo?: string;
  /** Filesystem root prefix, for fixture trees; default ''. */
  root?: string;
}

export interface CgroupMembership {
  /** 0 for the v2 line. */
  id: number;
  controllers: string[];
  path: string;
}

export interface CgroupMount {
  /** The cgroup path that is the root of this mount (4th field of mountinfo). */
  root: string;
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1: the controllers in the super options (e.g. cpu, cpuacct); v2: []. */
  controllers: string[];
}

/** `/proc/self/cgroup`: `0::/path` (v2) and `N:cpu,cpuacct:/path` (v1). Malformed lines are skipped. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ id: Number(m[1]), controllers: m[2] ? m[2].split(',') : [], path: m[3] || '/' });
  }
  return out;
}

/** The cgroup and cgroup2 mounts of `/proc/self/mountinfo`. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const m = parseCgroupMount(line);
    if (m) out.push(m);
  }
  return out;
}

const KNOWN_MOUNT_OPTIONS = new Set(['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'nsdelegate', 'memory_recursiveprot', 'clone_children', 'xattr', 'favordynmods']);

/** One mountinfo line: the mount if it is a cgroup (v1) or cgroup2 one, else null. */
function parseCgroupMount(line: string): CgroupMount | null {
  const sep = line.indexOf(' - ');
  if (sep < 0) return null;
  const left = line.slice(0, sep).split(' ');
  const right = line.slice(sep + 3).split(' ');
  const fsType = right[0];
  if (fsType !== 'cgroup' && fsType !== 'cgroup2') return null;
  if (left.length < 5) return null;
  const superOpts = (right[2] ?? '').split(',');
  return {
    root: unescapeMount(left[3]),
    mountPoint: unescapeMount(left[4]),
    fsType,
    controllers: fsType === 'cgroup' ? superOpts.filter((o) => !KNOWN_MOUNT_OPTIONS.has(o) && !o.startsWith('release_agent=')) : [],
  };
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Our cgroup's directory under a mount. With a cgroup namespace (or Docker's v1 bind of the
 * container's own cgroup) the mount root is already our cgroup: the path in /proc/self/cgroup is
 * `/`, or equal to the mount root, or — when the namespace root is above us — points outside it
 * (`/../..`). All of these fall back to the mount point itself.
 */
function cgroupDir(mount: CgroupMount, cgroupPath: string, root: string): string {
  let rel: string | null = null;
  if (mount.root === '/') rel = cgroupPath;
  else if (cgroupPath === mount.root || cgroupPath.startsWith(mount.root + '/')) rel = cgroupPath.slice(mount.root.length) || '/';
  if (rel !== null && !rel.startsWith('/..')) {
    const dir = trimSlash(join(root, mount.mountPoint, posix.normalize(rel)));
    if (isDir(dir)) return dir;
  }
  return trimSlash(join(root, mount.mountPoint));
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** Directories from `dir` up to and including the mount point: limits may sit on a parent (the pod). */
export function ancestry(dir: string, mountDir: string): string[] {
  const out = [dir];
  let d = dir;
  while (d.length > mountDir.length && d.startsWith(mountDir)) {
    d = dirname(d);
    if (d.length < mountDir.length) break;
    out.push(d);
  }
  return out;
}

export interface Located {
  version: CgroupVersion;
  v1: Map<string, { dir: string; mountDir: string }>;
  unified: { dir: string; mountDir: string; path: string } | null;
}

export function locate(opts: CgroupSources): Located {
  const root = opts.root ?? '';
  const cgText = readText(join(root, opts.procSelfCgroup ?? '/proc/self/cgroup'));
  // A line per mount of the namespace, and a node's can be long: read a line at a time, keeping
  // the cgroup mounts only.
  const mounts: CgroupMount[] = [];
  forEachLine(join(root, opts.mountinfo ?? '/proc/self/mountinfo'), (line) => {
    const m = parseCgroupMount(line);
    if (m) mounts.push(m);
  });
  const memberships = cgText ? parseProcCgroup(cgText) : [];
  const v1 = new Map<string, { dir: string; mountDir: string }>();
  for (const controller of ['cpu', 'cpuacct', 'memory']) {
    const member = memberships.find((m) => m.id !== 0 && m.controllers.includes(controller));
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.controllers.includes(controller));
    if (member && mount) v1.set(controller, { dir: cgroupDir(mount, member.path, root), mountDir: trimSlash(join(root, mount.mountPoint)) });
  }
  let unified: Located['unified'] = null;
  const v2member = memberships.find((m) => m.id === 0 && m.controllers.length === 0);
  const v2mount = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2member && v2mount) {
    unified = { dir: cgroupDir(v2mount, v2member.path, root), mountDir: trimSlash(join(root, v2mount.mountPoint)), path: v2member.path };
  }
  const hasV1 = memberships.some((m) => m.id !== 0) && mounts.some((m) => m.fsType === 'cgroup');
  const version: CgroupVersion = hasV1 && unified ? 'hybrid' : hasV1 ? 'v1' : unified ? 'v2' : 'none';
  return { version, v1, unified };
}
