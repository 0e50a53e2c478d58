// Whether warden may give the child a cgroup v2 of its own (kernel mode).
import { accessSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { readText } from '../procfs/read.js';
import { locate, type CgroupSources } from './mounts.js';

export type Delegation = { ok: true; path: string; subtreeEnabled: boolean } | { ok: false; reason: string };

/**
 * Whether the child can get its own cgroup v2 with the cpu and memory controllers: a unified
 * mount, our cgroup directory writable (systemd `Delegate=yes`, or root outside a read-only
 * container mount), cpu and memory available in `cgroup.controllers`, and `cgroup.subtree_control`
 * either already enabling them or writable so that we can.
 */
export function delegatedCgroupV2(opts: CgroupSources = {}): Delegation {
  const loc = locate(opts);
  if (!loc.unified) return { ok: false, reason: 'no cgroup v2 mount in mountinfo' };
  const dir = loc.unified.dir;
  const available = (readText(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/);
  const missing = ['cpu', 'memory'].filter((c) => !available.includes(c));
  if (missing.length) return { ok: false, reason: `${join(dir, 'cgroup.controllers')} lacks ${missing.join(' and ')}` };
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    return { ok: false, reason: `${dir} is not writable` };
  }
  const subtreeFile = join(dir, 'cgroup.subtree_control');
  const enabled = (readText(subtreeFile) ?? '').trim().split(/\s+/);
  const subtreeEnabled = enabled.includes('cpu') && enabled.includes('memory');
  if (!subtreeEnabled) {
    try {
      accessSync(subtreeFile, fsConstants.W_OK);
    } catch {
      return { ok: false, reason: `${subtreeFile} does not enable cpu and memory and is not writable` };
    }
  }
  return { ok: true, path: dir, subtreeEnabled };
}
