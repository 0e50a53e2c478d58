import { describe, expect, it } from 'vitest';
import { dockerContainerId, k8sMetaFromContainersName, k8sMetaFromPath, pathMeta } from '../../../agent/parse/kubernetes.js';
import { tagFor } from '../../../agent/parse/tag.js';
import { pathCases } from '../../fixtures/parse/cases.js';

describe('metadata and tag from paths (shared path cases)', () => {
  it.each(pathCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const meta = pathMeta(c.path, c.resolved);
    expect(meta).toStrictEqual({ k8s: c.k8s, dockerId: c.dockerId });
    expect(tagFor(meta, c.path)).toBe(c.tag);
  });
});

describe('kubelet symlink names', () => {
  const id = 'a'.repeat(64);

  it('a full /var/log/containers name gives pod, namespace, container and container id', () => {
    expect(k8sMetaFromContainersName(`/var/log/containers/web-1_prod_my-app-${id}.log`)).toStrictEqual({
      namespace_name: 'prod', pod_name: 'web-1', pod_uid: '', container_name: 'my-app', container_id: id,
    });
  });

  it('a name kubelet cut at 255 bytes is not trusted at all', () => {
    const name = `${'p'.repeat(230)}_prod_app-${id}`.slice(0, 251) + '.log';
    expect(name.length).toBe(255);
    expect(k8sMetaFromContainersName(name)).toBeNull();
    expect(k8sMetaFromPath(`/var/log/containers/${name}`)).toBeNull();
  });

  it('pods paths: only <restart>.log and its dated rotation', () => {
    const dir = '/var/log/pods/ns_pod_uid/c';
    expect(k8sMetaFromPath(`${dir}/0.log`)).not.toBeNull();
    expect(k8sMetaFromPath(`${dir}/12.log.20260101-000000`)).not.toBeNull();
    for (const f of ['0.log.20260101-000000.gz', 'x.log', '0.log.1', '0.txt']) expect(k8sMetaFromPath(`${dir}/${f}`), f).toBeNull();
    // Found under a test root too, as long as the pods layout is there.
    expect(k8sMetaFromPath('/tmp/x/var/log/pods/ns_pod_uid/c/0.log')?.pod_name).toBe('pod');
  });

  it('docker paths need the same 64-hex id as directory and file name', () => {
    expect(dockerContainerId(`/var/lib/docker/containers/${id}/${id}-json.log`)).toBe(id);
    expect(dockerContainerId(`/var/lib/docker/containers/${id}/${'b'.repeat(64)}-json.log`)).toBeNull();
    expect(dockerContainerId(`/var/lib/docker/containers/${id}/config.v2.json`)).toBeNull();
    expect(dockerContainerId(`/var/lib/docker/containers/${id.slice(1)}/${id.slice(1)}-json.log`)).toBeNull();
  });
});

describe('tagFor', () => {
  it('turns every character other than [A-Za-z0-9_-] into _ inside a part, so fluentd splits only on our dots', () => {
    const k8s = { namespace_name: 'ns', pod_name: 'a.b/c d', pod_uid: 'u', container_name: 'ctr' };
    expect(tagFor({ k8s }, '/x')).toBe('kube.ns.a_b_c_d.ctr');
    expect(tagFor({ k8s: { ...k8s, pod_name: '' } }, '/x')).toBe('kube.ns._.ctr');
    expect(tagFor({ dockerId: 'abc' }, '/x')).toBe('docker.abc');
    expect(tagFor({}, '/var/log/.log')).toBe('host._');
    expect(tagFor({ k8s: null, dockerId: null }, '/var/log/syslog')).toBe('host.syslog');
  });
});
