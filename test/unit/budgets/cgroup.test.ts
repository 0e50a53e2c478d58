import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { delegatedCgroupV2 } from '../../../supervisor/cgroup/delegation.js';
import { parseCfsQuota, parseCpuMax, parseMemoryValue, readContainerLimits } from '../../../supervisor/cgroup/limits.js';
import { parseMountinfo, parseProcCgroup } from '../../../supervisor/cgroup/mounts.js';
import { parseOomKills } from '../../../supervisor/cgroup/oom.js';
import { readPodUsage, unreclaimable, workingSet } from '../../../supervisor/cgroup/usage.js';
import { MAX_TEXT_BYTES } from '../../../supervisor/procfs/read.js';

const fixtures = fileURLToPath(new URL('../../fixtures/cgroup/', import.meta.url));
const MIB = 1024 * 1024;

const cases = [
  { tree: 'v1', version: 'v1', cpu: 500, mem: 512 * MIB, high: null, oom: 2, memPath: 'sys/fs/cgroup/memory' },
  { tree: 'v1-unlimited', version: 'v1', cpu: null, mem: null, high: null, oom: null, memPath: 'sys/fs/cgroup/memory/user.slice' },
  // The pod slice limits CPU to 300m while the container scope says `max`: the ancestor wins.
  { tree: 'v2', version: 'v2', cpu: 300, mem: 200 * MIB, high: null, oom: 1, memPath: 'sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-3f4e.scope' },
  { tree: 'v2-unlimited', version: 'v2', cpu: null, mem: null, high: null, oom: 0, memPath: 'sys/fs/cgroup' },
  { tree: 'hybrid', version: 'hybrid', cpu: 200, mem: 200 * MIB, high: null, oom: 0, memPath: 'sys/fs/cgroup/memory/process_api/45f8' },
] as const;

describe('readContainerLimits on fixture trees', () => {
  it.each(cases)('$tree', (c) => {
    const root = join(fixtures, c.tree);
    const limits = readContainerLimits({ root });
    expect(limits.version).toBe(c.version);
    expect(limits.cpuMillicores).toBe(c.cpu);
    expect(limits.memoryBytes).toBe(c.mem);
    expect(limits.memoryHighBytes).toBe(c.high);
    expect(limits.oomKillCount).toBe(c.oom);
    expect(limits.paths.memory).toBe(join(root, c.memPath));
  });

  it('hybrid: the unified mount is found but cpu and memory come from v1', () => {
    const root = join(fixtures, 'hybrid');
    const limits = readContainerLimits({ root });
    expect(limits.paths.unified).toBe(join(root, 'sys/fs/cgroup/unified'));
    expect(limits.paths.cpu).toBe(join(root, 'sys/fs/cgroup/cpu/warden'));
  });

  it('finds the cgroup mounts after thousands of others, in a mountinfo longer than a whole read keeps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cgroup-'));
    try {
      cpSync(join(fixtures, 'hybrid'), dir, { recursive: true });
      const mountinfo = join(dir, 'proc/self/mountinfo');
      const overlay = (i: number) => `${100 + i} 22 0:${100 + i} / /var/lib/kubelet/pods/${String(i).padStart(8, '0')}/volumes/kubernetes.io~projected/kube-api-access rw,relatime - tmpfs tmpfs rw,size=204800k`;
      const own = readFileSync(mountinfo, 'utf8');
      writeFileSync(mountinfo, `${Array.from({ length: 30_000 }, (_, i) => overlay(i)).join('\n')}\n${own}`);
      expect(statSync(mountinfo).size).toBeGreaterThan(MAX_TEXT_BYTES);
      const limits = readContainerLimits({ root: dir });
      expect(limits.paths.unified).toBe(join(dir, 'sys/fs/cgroup/unified'));
      expect(limits.paths.cpu).toBe(join(dir, 'sys/fs/cgroup/cpu/warden'));
      expect(limits.paths.memory).toBe(join(dir, 'sys/fs/cgroup/memory/process_api/45f8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readContainerLimits on partial trees', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('returns version none and nulls when /proc/self/cgroup and mountinfo are missing', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-cg-'));
    expect(readContainerLimits({ root: dir })).toEqual({
      version: 'none',
      cpuMillicores: null,
      memoryBytes: null,
      memoryHighBytes: null,
      oomKillCount: null,
      paths: { cpu: null, memory: null, cpuacct: null, unified: null },
    });
  });

  it('yields null for each missing limit file instead of throwing, and reads memory.high when set', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-cg-'));
    cpSync(join(fixtures, 'v2-unlimited'), dir, { recursive: true });
    rmSync(join(dir, 'sys/fs/cgroup/cpu.max'));
    rmSync(join(dir, 'sys/fs/cgroup/memory.events'));
    writeFileSync(join(dir, 'sys/fs/cgroup/memory.max'), '104857600\n');
    writeFileSync(join(dir, 'sys/fs/cgroup/memory.high'), '94371840\n');
    const limits = readContainerLimits({ root: dir });
    expect(limits.cpuMillicores).toBeNull();
    expect(limits.paths.cpu).toBeNull();
    expect(limits.memoryBytes).toBe(100 * MIB);
    expect(limits.memoryHighBytes).toBe(90 * MIB);
    expect(limits.oomKillCount).toBeNull();
  });

  it('falls back to the mount point when the cgroup path is not below the mount root (cgroup namespace)', () => {
    dir = mkdtempSync(join(tmpdir(), 'warden-cg-'));
    cpSync(join(fixtures, 'v2-unlimited'), dir, { recursive: true });
    writeFileSync(join(dir, 'proc/self/cgroup'), '0::/../../kubepods/pod9\n');
    writeFileSync(join(dir, 'sys/fs/cgroup/cpu.max'), '50000 100000\n');
    expect(readContainerLimits({ root: dir }).cpuMillicores).toBe(500);
  });
});

describe('parsers', () => {
  it('cpu.max', () => {
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(parseCpuMax('20000 100000\n')).toBe(200);
    expect(parseCpuMax('150000 50000')).toBe(3000);
    expect(parseCpuMax(null)).toBeUndefined();
  });
  it('cfs quota and period', () => {
    expect(parseCfsQuota('-1\n', '100000\n')).toBeNull();
    expect(parseCfsQuota('25000\n', '50000\n')).toBe(500);
    expect(parseCfsQuota(null, '100000')).toBeUndefined();
  });
  it('memory values, v1 "unlimited" included', () => {
    expect(parseMemoryValue('max\n')).toBeNull();
    expect(parseMemoryValue('9223372036854771712\n')).toBeNull();
    expect(parseMemoryValue('209715200\n')).toBe(200 * MIB);
    expect(parseMemoryValue('garbage')).toBeUndefined();
  });
  it('oom_kill out of memory.events and memory.oom_control', () => {
    expect(parseOomKills('low 0\nhigh 0\nmax 1\noom 1\noom_kill 3\n')).toBe(3);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\n')).toBeNull();
  });
  it('/proc/self/cgroup lines', () => {
    expect(parseProcCgroup('4:memory:/a\n2:cpu,cpuacct:/b\n1:name=systemd:/\n0::/c\n')).toEqual([
      { id: 4, controllers: ['memory'], path: '/a' },
      { id: 2, controllers: ['cpu', 'cpuacct'], path: '/b' },
      { id: 1, controllers: ['name=systemd'], path: '/' },
      { id: 0, controllers: [], path: '/c' },
    ]);
  });
  it('mountinfo: cgroup mounts only, controllers from the super options, octal escapes undone', () => {
    const mounts = parseMountinfo(
      '22 1 254:1 / / rw - ext4 /dev/vda1 rw\n' +
        '32 31 0:29 /docker/x /sys/fs/cgroup/cpu,cpuacct ro shared:1 - cgroup cgroup rw,cpu,cpuacct\n' +
        '41 31 0:38 / /sys/fs/my\\040cg rw - cgroup2 cgroup2 rw,nsdelegate\n',
    );
    expect(mounts).toEqual([
      { root: '/docker/x', mountPoint: '/sys/fs/cgroup/cpu,cpuacct', fsType: 'cgroup', controllers: ['cpu', 'cpuacct'] },
      { root: '/', mountPoint: '/sys/fs/my cg', fsType: 'cgroup2', controllers: [] },
    ]);
  });
});

describe('delegatedCgroupV2', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function delegatedTree(controllers: string, subtree: string) {
    dir = mkdtempSync(join(tmpdir(), 'warden-deleg-'));
    mkdirSync(join(dir, 'proc/self'), { recursive: true });
    writeFileSync(join(dir, 'proc/self/cgroup'), '0::/system.slice/warden.service\n');
    writeFileSync(join(dir, 'proc/self/mountinfo'), '29 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n');
    const cg = join(dir, 'sys/fs/cgroup/system.slice/warden.service');
    mkdirSync(cg, { recursive: true });
    writeFileSync(join(cg, 'cgroup.controllers'), controllers);
    writeFileSync(join(cg, 'cgroup.subtree_control'), subtree);
    return cg;
  }

  it('gives the path of a writable subtree with cpu and memory available (fixture standing in for Delegate=yes)', () => {
    const cg = delegatedTree('cpuset cpu io memory pids\n', '\n');
    expect(delegatedCgroupV2({ root: dir })).toEqual({ ok: true, path: cg, subtreeEnabled: false });
    writeFileSync(join(cg, 'cgroup.subtree_control'), 'cpu memory\n');
    expect(delegatedCgroupV2({ root: dir })).toEqual({ ok: true, path: cg, subtreeEnabled: true });
  });

  it('says why not: controllers missing', () => {
    delegatedTree('pids\n', '\n');
    const d = delegatedCgroupV2({ root: dir });
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toMatch(/lacks cpu and memory/);
  });

  it('on fixture trees without delegation, names the reason', () => {
    expect(delegatedCgroupV2({ root: join(fixtures, 'v1') })).toEqual({ ok: false, reason: 'no cgroup v2 mount in mountinfo' });
    expect(delegatedCgroupV2({ root: join(fixtures, 'hybrid') })).toMatchObject({ ok: false, reason: expect.stringMatching(/lacks cpu and memory/) });
  });
});

describe('the pod working set, as the kubelet counts it, and what the kernel cannot reclaim', () => {
  it('v1: memory.usage_in_bytes − memory.stat total_inactive_file (the hierarchical figure), cpuacct.usage in µs', () => {
    const limits = readContainerLimits({ root: join(fixtures, 'v1') });
    // Unreclaimable: 300 MiB used − (20 active + 100 inactive file − 4 dirty) clean file pages.
    expect(readPodUsage(limits.paths)).toEqual({ workingSetBytes: 200 * MIB, unreclaimableBytes: 184 * MIB, cpuUsageMicros: 123456789 });
  });

  it('v2: memory.current − memory.stat inactive_file, cpu.stat usage_usec', () => {
    const limits = readContainerLimits({ root: join(fixtures, 'v2') });
    // Unreclaimable: 150 MiB current − (20 active + 30 inactive file − 2 dirty − 1 under writeback).
    expect(readPodUsage(limits.paths)).toEqual({ workingSetBytes: 120 * MIB, unreclaimableBytes: 103 * MIB, cpuUsageMicros: 98765432 });
  });

  it('unreclaimable: v1 uses the non-hierarchical figures where the total_ ones are absent; dirty pages are never counted as reclaimable', () => {
    expect(unreclaimable(`${300 * MIB}\n`, `active_file ${50 * MIB}\ninactive_file ${50 * MIB}\ndirty ${10 * MIB}\nwriteback ${5 * MIB}\n`, 'v1')).toBe(215 * MIB);
    expect(unreclaimable(`${100 * MIB}\n`, `active_file ${80 * MIB}\ninactive_file ${40 * MIB}\n`, 'v2')).toBe(0);
    expect(unreclaimable(`${100 * MIB}\n`, `active_file ${1 * MIB}\nfile_dirty ${5 * MIB}\n`, 'v2')).toBe(100 * MIB);
    expect(unreclaimable('', null, 'v1')).toBeNull();
  });

  it('unreadable usage is null, never a throw; inactive file above usage floors at 0', () => {
    expect(readPodUsage({ cpu: null, memory: '/nonexistent', cpuacct: null, unified: null })).toEqual({ workingSetBytes: null, unreclaimableBytes: null, cpuUsageMicros: null });
    expect(workingSet('100\n', 'total_inactive_file 300\n', 'v1')).toBe(0);
    expect(workingSet('100\n', null, 'v2')).toBe(100);
    expect(workingSet('garbage', null, 'v2')).toBeNull();
  });
});
