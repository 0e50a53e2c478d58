// warden's own container id from /proc/self (fixture trees under test/fixtures/proc), and the
// self-excludes it adds: its own container log is never tailed, by the kubelet's link or by
// Docker's json log, with or without the pod's downward API variables.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGlob } from '../../../agent/tail/glob.js';
import { containerIdFromCgroup, containerIdFromMountinfo, ownContainer } from '../../../supervisor/procfs/container.js';
import { selfExcludeGlobs } from '../../../supervisor/self-exclude.js';
import { ROOT } from '../../support/index.js';

const proc = (name: string) => join(ROOT, 'test/fixtures/proc', name);
const V1_ID = '4a3f9c2e8d1b7065f3e2a1c0b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0';
const V2_ID = '9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c';
const DOCKER_ID = 'c0ffee00deadbeef0123456789abcdef0123456789abcdef0123456789abcdef';
const hex = (c: string) => c.repeat(64);

describe('own container id from /proc/self', () => {
  it('cgroup v1 (Kubernetes on Docker): the leaf of the pod cgroup, not the sandbox the mounts name', () => {
    expect(ownContainer(proc('cgroup-v1'))).toEqual({ id: V1_ID, source: 'cgroup' });
  });

  it('cgroup v2 in the host cgroup namespace (containerd): the cri-containerd scope', () => {
    expect(ownContainer(proc('cgroup-v2'))).toEqual({ id: V2_ID, source: 'cgroup' });
  });

  it('cgroup v2 private namespace (0::/, docker run): from the /etc/hostname bind mount', () => {
    expect(ownContainer(proc('mountinfo-only'))).toEqual({ id: DOCKER_ID, source: 'mountinfo' });
  });

  it('nothing names it (containerd, private namespace): null', () => {
    expect(ownContainer(proc('none'))).toBeNull();
    expect(ownContainer(proc('does-not-exist'))).toBeNull();
  });

  it('knows each runtime\'s cgroup name and skips what is no container of ours', () => {
    const cases: [string, string | null][] = [
      [`12:memory:/docker/${hex('a')}`, hex('a')],
      [`0::/system.slice/docker-${hex('b')}.scope`, hex('b')],
      [`0::/kubepods.slice/kubepods-pod1.slice/crio-${hex('c')}.scope`, hex('c')],
      [`0::/machine.slice/libpod-${hex('d')}.scope/container`, hex('d')],
      // cri-o's monitor, not the container.
      [`0::/kubepods.slice/kubepods-pod1.slice/crio-conmon-${hex('e')}.scope`, null],
      // Docker in Docker: the innermost container.
      [`4:memory:/docker/${hex('1')}/docker/${hex('2')}`, hex('2')],
      ['0::/user.slice/user-1000.slice/session-2.scope', null],
      ['4:memory:/process_api/29a7050007a733d9f47d482d06dc3114', null],
      ['0::/', null],
    ];
    for (const [text, id] of cases) expect(containerIdFromCgroup(text), text).toBe(id);
  });

  it('reads the id from the container\'s own bind mounts only, never from mounts of the host\'s /var/lib/docker', () => {
    const other = `700 600 0:61 / /var/lib/docker/containers/${hex('f')}/mounts/shm rw - tmpfs shm rw`;
    const whole = `701 600 8:1 /var/lib/docker/containers /var/lib/docker/containers ro - ext4 /dev/sda1 rw`;
    expect(containerIdFromMountinfo([other, whole].join('\n'))).toBeNull();
    const crio = `702 600 8:1 /var/lib/containers/storage/overlay-containers/${hex('9')}/userdata/hostname /etc/hostname rw - xfs /dev/vda1 rw`;
    expect(containerIdFromMountinfo([other, crio].join('\n'))).toBe(hex('9'));
    // /var/lib/docker on its own filesystem: the root is relative to it.
    const ownFs = `703 600 8:17 /containers/${hex('8')}/hosts /etc/hosts rw - ext4 /dev/sdb1 rw`;
    expect(containerIdFromMountinfo(ownFs)).toBe(hex('8'));
  });
});

describe('self-excludes by container id', () => {
  const own = { id: DOCKER_ID, source: 'mountinfo' as const };
  const paths = {
    ownLink: `/var/log/containers/warden-x7k2p_kube-system_warden-${DOCKER_ID}.log`,
    ownDocker: `/var/lib/docker/containers/${DOCKER_ID}/${DOCKER_ID}-json.log`,
    ownDockerRotated: `/var/lib/docker/containers/${DOCKER_ID}/${DOCKER_ID}-json.log.1`,
    otherLink: `/var/log/containers/web-5d8f7_default_nginx-${hex('7')}.log`,
    otherDocker: `/var/lib/docker/containers/${hex('7')}/${hex('7')}-json.log`,
  };
  const excluded = (globs: string[]) => Object.entries(paths).filter(([, p]) => globs.map(compileGlob).some((g) => g.match(p))).map(([k]) => k);

  it('without the pod variables (docker run): its own Docker log and kubelet link, nothing else', () => {
    expect(excluded(selfExcludeGlobs({}, own).globs)).toEqual(['ownLink', 'ownDocker', 'ownDockerRotated']);
  });

  it('with them: the pod\'s names and the id, the link bound to the namespace', () => {
    const env = { POD_NAME: 'warden-x7k2p', POD_NAMESPACE: 'kube-system' };
    const globs = selfExcludeGlobs(env, own).globs;
    expect(globs).toContain(`/**/containers/*_kube-system_*-${DOCKER_ID}.log`);
    expect(excluded(globs)).toEqual(['ownLink', 'ownDocker', 'ownDockerRotated']);
  });

  it('a bad pod variable keeps the id\'s excludes', () => {
    const self = selfExcludeGlobs({ POD_NAME: 'Bad*Name', POD_NAMESPACE: 'kube-system' }, own);
    expect(self.problem).toMatch(/POD_NAME/);
    expect(excluded(self.globs)).toEqual(['ownLink', 'ownDocker', 'ownDockerRotated']);
  });

  it('no id and no pod variables: nothing excluded', () => {
    expect(selfExcludeGlobs({}, null).globs).toEqual([]);
  });
});
