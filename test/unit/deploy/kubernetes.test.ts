// deploy/kubernetes: every manifest validates against the Kubernetes schemas, and the DaemonSet
// agrees with the warden.yaml it mounts (probes, mounts, state dir) and keeps the seed's shape.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../../config/load.js';
import { compileGlob } from '../../../agent/tail/glob.js';
import { withSelfExcludes } from '../../../supervisor/self-exclude.js';
import { skipNote } from '../../support/skip.js';

const root = join(import.meta.dirname, '../../..');
const dir = join(root, 'deploy/kubernetes');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

function manifests(file: string): any[] {
  const docs = parseAllDocuments(read(`deploy/kubernetes/${file}`));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const all = files.flatMap((f) => manifests(f).map((obj) => ({ file: f, obj })));
const byKind = (kind: string) => {
  const found = all.filter((m) => m.obj.kind === kind);
  expect(found, `one ${kind} in deploy/kubernetes`).toHaveLength(1);
  return found[0]!.obj;
};

const ds = byKind('DaemonSet');
const cm = byKind('ConfigMap');
const pod = ds.spec.template.spec;
const container = pod.containers.find((c: any) => c.name === 'warden');
const config = parseConfigText(cm.data['warden.yaml'], 'configmap.yaml:warden.yaml', { NODE_NAME: 'node-a' });
const seed = parse(readFileSync(join(import.meta.dirname, 'seed-daemonset.yaml'), 'utf8'));
const seedPod = seed.spec.template.spec;

/** The mount whose mountPath contains `path` (the deepest one), with its volume. */
function mountFor(path: string): { mount: any; volume: any } | null {
  const candidates = container.volumeMounts
    .filter((m: any) => path === m.mountPath || path.startsWith(m.mountPath.replace(/\/$/, '') + '/'))
    .sort((a: any, b: any) => b.mountPath.length - a.mountPath.length);
  const mount = candidates[0];
  if (!mount) return null;
  return { mount, volume: pod.volumes.find((v: any) => v.name === mount.name) };
}

/** The directory part of a glob before its first wildcard: what must be mounted to read it. */
function fixedPrefix(glob: string): string {
  const parts = glob.split('/');
  const i = parts.findIndex((p) => /[*?[{]/.test(p));
  return (i < 0 ? posix.dirname(glob) : parts.slice(0, i).join('/')) || '/';
}

function probePort(probe: any): number {
  const port = probe.httpGet.port;
  if (typeof port === 'number') return port;
  const named = container.ports.find((p: any) => p.name === port);
  if (!named) throw new Error(`probe port ${port} names no container port`);
  return named.containerPort;
}

/** Does toleration `t` tolerate the taint that seed toleration `s` was written for? */
function tolerates(t: any, s: any): boolean {
  if (t.operator === 'Exists' && t.key === undefined) return t.effect === undefined || t.effect === s.effect;
  return t.key === s.key && (t.effect === undefined || t.effect === s.effect);
}

describe('deploy/kubernetes manifests', () => {
  it('validate against the Kubernetes schemas', () => {
    const models: Record<string, (o: any) => { validate(): void }> = {
      DaemonSet: (o) => new DaemonSet(o),
      ConfigMap: (o) => new ConfigMap(o),
      ServiceAccount: (o) => new ServiceAccount(o),
    };
    expect(all.map((m) => m.obj.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'ServiceAccount']);
    for (const { file, obj } of all) {
      const model = models[obj.kind];
      expect(model, `${file}: a model for ${obj.kind}`).toBeDefined();
      expect(() => model!(obj).validate(), file).not.toThrow();
    }
  });

  it('the schema check catches a broken DaemonSet (so the check above can fail)', () => {
    const broken = structuredClone(ds);
    broken.spec.template.spec.containers[0].livenessProbe.httpGet.port = { not: 'a port' };
    delete broken.spec.template.spec.containers[0].name;
    expect(() => new DaemonSet(broken).validate()).toThrow(/name/);
  });

  it('kustomization lists every manifest, and names match across them', () => {
    const k = parse(read('deploy/kubernetes/kustomization.yaml'));
    expect([...k.resources].sort()).toEqual([...files].sort());
    expect(k.namespace).toBeTruthy();
    expect(k.images.map((i: any) => i.name)).toContain(container.image);
    // Pinned by digest; the example's is a marked placeholder (nothing publishes the image).
    expect(k.images[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(k.images[0].newTag).toBeUndefined();
    expect(read('deploy/kubernetes/kustomization.yaml')).toMatch(/PLACEHOLDER digest/);
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
    const cmVolumes = pod.volumes.filter((v: any) => v.configMap);
    expect(cmVolumes.length).toBeGreaterThan(0);
    for (const v of cmVolumes) {
      expect(v.configMap.name).toBe(cm.metadata.name);
      for (const item of v.configMap.items ?? []) expect(Object.keys(cm.data)).toContain(item.key);
    }
  });

  it('the ConfigMap carries the same warden.yaml and fluent.conf as the image', () => {
    expect(cm.data['warden.yaml']).toBe(read('deploy/docker/warden.yaml'));
    expect(cm.data['fluent.conf']).toBe(read('deploy/docker/fluent.conf'));
  });
});

describe('the DaemonSet agrees with its warden.yaml', () => {
  it('runs warden with the mounted config, behind tini', () => {
    const argv = [...(container.command ?? []), ...(container.args ?? [])];
    expect(argv.slice(0, 4)).toEqual(['tini', '--', '/usr/local/bin/warden', 'run']);
    const configPath = argv[argv.indexOf('--config') + 1]!;
    const m = mountFor(configPath);
    expect(m?.volume.configMap, `${configPath} comes from the ConfigMap`).toBeDefined();
    expect(m!.volume.configMap.items.map((i: any) => posix.join(m!.mount.mountPath, i.path))).toContain(configPath);
  });

  it('mounts the fluent.conf the child command names', () => {
    const c = config.child.command;
    const confPath = c[c.indexOf('-c') + 1]!;
    const m = mountFor(confPath);
    expect(m?.volume.configMap, `${confPath} comes from the ConfigMap`).toBeDefined();
    const item = m!.volume.configMap.items.find((i: any) => posix.join(m!.mount.mountPath, i.path) === confPath);
    expect(item.key).toBe('fluent.conf');
  });

  it('probes hit health.listen: liveness and startup /healthz, readiness /readyz', () => {
    const [host, port] = [config.health.listen.replace(/:\d+$/, ''), Number(config.health.listen.split(':').pop())];
    // The kubelet probes the pod IP, never the container's loopback.
    expect(['0.0.0.0', '::', '[::]']).toContain(host);
    expect(container.ports.map((p: any) => p.containerPort)).toContain(port);
    for (const [probe, path] of [
      ['livenessProbe', '/healthz'],
      ['startupProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      expect(container[probe], probe).toBeDefined();
      expect(container[probe].httpGet.path, probe).toBe(path);
      expect(probePort(container[probe]), probe).toBe(port);
    }
  });

  it('mounts every input glob and root read-only from the host', () => {
    const needed = [...config.inputs.flatMap((i) => i.paths.map(fixedPrefix)), ...config.tail.roots];
    for (const path of needed) {
      const m = mountFor(path);
      expect(m, `${path} is mounted`).not.toBeNull();
      expect(m!.volume.hostPath, `${path} comes from the host`).toBeDefined();
      expect(m!.mount.readOnly, `${path} is read-only`).toBe(true);
    }
  });

  it('mounts state_dir writable from the host, and fluentd buffers inside it', () => {
    const m = mountFor(config.state_dir);
    expect(m?.volume.hostPath).toBeDefined();
    expect(m!.mount.readOnly ?? false).toBe(false);
    const buffer = /^\s*path\s+(\S+)/m.exec(read('deploy/docker/fluent.conf').split('<buffer>')[1]!)![1]!;
    expect(buffer.startsWith(config.state_dir + '/')).toBe(true);
  });

  it('takes NODE_NAME from the downward API and the config uses it', () => {
    const env = container.env.find((e: any) => e.name === 'NODE_NAME');
    expect(env.valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
    expect(cm.data['warden.yaml']).toMatch(/^node_name: \$\{NODE_NAME\}/m);
    expect(config.node_name).toBe('node-a');
  });

  it('mounts the configs (they will hold output credentials) 0440, readable by the container\'s user only', () => {
    const cmVolumes = pod.volumes.filter((v: any) => v.configMap);
    expect(cmVolumes.length).toBeGreaterThan(0);
    // 0440 is 288: YAML 1.2 reads a leading-zero 0440 as decimal 440, so the manifest writes 0o440 or 288.
    for (const v of cmVolumes) expect(v.configMap.defaultMode, v.name).toBe(0o440);
    // ConfigMap files are root-owned: the user must be root (or the owner) to read 0440.
    expect(container.securityContext.runAsUser).toBe(0);
  });

  it('is locked down: read-only root, only CAP_DAC_READ_SEARCH', () => {
    const sc = container.securityContext;
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_READ_SEARCH'] });
  });
});

/**
 * The environment the kubelet gives `c` from the downward API, for a pod `name` in `namespace`;
 * checks that every fieldRef is one of the pod fields warden needs.
 */
function downwardEnv(c: any, pod: { name: string; namespace: string; uid: string; node: string }): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': pod.name, 'metadata.namespace': pod.namespace, 'metadata.uid': pod.uid, 'spec.nodeName': pod.node };
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    if (path) {
      expect(fields[path], `${e.name}: fieldRef ${path}`).toBeDefined();
      env[e.name] = fields[path]!;
    } else if (e.value !== undefined) env[e.name] = e.value;
  }
  return env;
}

/** The pod's warden container, as /proc/self/cgroup names it on a Docker node. */
const OWN_ID = '3f2a9c0d1e4b5a6978c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3';
const OTHER_ID = '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b';

/** Which of `paths` the pod's warden would still tail, given its env, its mounted config and its container id. */
function tailedByPod(c: any, namespace: string, paths: string[], containerId: string | null = OWN_ID): string[] {
  const pod = { name: 'warden-x7k2p', namespace, uid: '0f5e6b1c-2d3a-4e5f-8a9b-1c2d3e4f5a6b', node: 'node-a' };
  const env = downwardEnv(c, pod);
  expect(env).toMatchObject({ POD_NAME: pod.name, POD_NAMESPACE: namespace, POD_UID: pod.uid });
  const container = containerId ? { id: containerId, source: 'cgroup' as const } : null;
  const cfg = withSelfExcludes(parseConfigText(cm.data['warden.yaml'], 'configmap.yaml:warden.yaml', env), env, container).config;
  const inputs = cfg.inputs.flatMap((i) => i.paths.map(compileGlob));
  const excludes = cfg.tail.exclude.map(compileGlob);
  return paths.filter((p) => inputs.some((g) => g.match(p)) && !excludes.some((g) => g.match(p)));
}

/**
 * Its own pod's container log (the link, the pods/ file it points to, and on a Docker node the
 * json log the docker input reads) and another pod's.
 */
function nodeLogs(namespace: string) {
  const own = [
    `/var/log/containers/warden-x7k2p_${namespace}_warden-${OWN_ID}.log`,
    `/var/log/pods/${namespace}_warden-x7k2p_0f5e6b1c-2d3a-4e5f-8a9b-1c2d3e4f5a6b/warden/0.log`,
    `/var/lib/docker/containers/${OWN_ID}/${OWN_ID}-json.log`,
  ];
  const other = [
    `/var/log/containers/web-5d8f7_default_nginx-${OTHER_ID}.log`,
    // Same pod name in another namespace: not this pod.
    `/var/log/containers/warden-x7k2p_other_warden-1111111111111111111111111111111111111111111111111111111111111111.log`,
    `/var/lib/docker/containers/${OTHER_ID}/${OTHER_ID}-json.log`,
  ];
  return { own, other };
}

describe('the DaemonSet does not read its own logs', () => {
  it('gives the pod its name, namespace and uid, and the config excludes that pod\'s logs', () => {
    expect(config.tail.exclude_self).toBe(true);
    const { own, other } = nodeLogs('kube-system');
    expect(tailedByPod(container, 'kube-system', [...own, ...other])).toEqual(other);
  });

  it('without its container id (nothing in /proc names it) the pod\'s names still exclude the kubelet\'s files', () => {
    const { own, other } = nodeLogs('kube-system');
    // Docker's json log carries no pod name: only the id excludes it.
    expect(tailedByPod(container, 'kube-system', [...own, ...other], null)).toEqual([own[2], ...other]);
  });

  it('ships no config that prints records where they are tailed back (fluentd has no stdout output)', () => {
    for (const f of ['deploy/docker/fluent.conf']) {
      const matches = read(f).split('<match').slice(1);
      expect(matches.length, f).toBeGreaterThan(0);
      for (const m of matches) expect(m, f).not.toMatch(/^\s*@type\s+stdout\b/m);
    }
  });
});

describe('the DaemonSet keeps every element of the seed', () => {
  const seedContainer = seedPod.containers[0];

  it('resources: requests 100m/100Mi, limits 200m/200Mi', () => {
    expect(container.resources).toEqual(seedContainer.resources);
  });

  it('hostPath volumes at the same mount paths, read-only where the seed had it', () => {
    for (const sm of seedContainer.volumeMounts) {
      const sv = seedPod.volumes.find((v: any) => v.name === sm.name);
      const mount = container.volumeMounts.find((m: any) => m.mountPath === sm.mountPath);
      expect(mount, `${sm.mountPath} mounted`).toBeDefined();
      const volume = pod.volumes.find((v: any) => v.name === mount.name);
      expect(volume.hostPath.path).toBe(sv.hostPath.path);
      if (sm.readOnly) expect(mount.readOnly, `${sm.mountPath} read-only`).toBe(true);
    }
  });

  it('rolling updates, tolerations, grace period, labels, an example nodeSelector', () => {
    expect(ds.spec.updateStrategy.type).toBe(seed.spec.updateStrategy.type);
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBeDefined();
    for (const s of seedPod.tolerations) {
      expect(pod.tolerations.some((t: any) => tolerates(t, s)), `tolerates ${s.key}`).toBe(true);
    }
    // Every node: a key-less Exists toleration tolerates every taint.
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(seedPod.terminationGracePeriodSeconds);
    expect(ds.metadata.labels['k8s-app']).toBe(seed.metadata.labels['k8s-app']);
    expect(pod.nodeSelector).toBeDefined();
  });

  it('the commented nodeSelector example, uncommented, adds a label to the one nodeSelector', () => {
    const text = read('deploy/kubernetes/daemonset.yaml');
    const example = /^(\s*)# (logging: warden)$/m;
    expect(text).toMatch(example);
    // parse() refuses duplicate keys: a second `nodeSelector:` would throw here.
    const uncommented = parse(text.replace(example, '$1$2'));
    expect(uncommented.spec.template.spec.nodeSelector).toEqual({ ...pod.nodeSelector, logging: 'warden' });
  });

  it('a grace period longer than the child stop grace', () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(config.child.stop_grace_s);
  });
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
describe.skipIf(kubectl.status !== 0)(`kubectl kustomize deploy/kubernetes${skipNote(kubectl.status === 0 ? null : 'kubectl is not installed')}`, () => {
  it('renders the namespace and the pinned image into every object', () => {
    const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const k = parse(read('deploy/kubernetes/kustomization.yaml'));
    const out = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(out.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'ServiceAccount']);
    for (const o of out) expect(o.metadata.namespace).toBe(k.namespace);
    const rendered = out.find((o) => o.kind === 'DaemonSet');
    expect(rendered.spec.template.spec.containers[0].image).toBe(`${k.images[0].newName}@${k.images[0].digest}`);
    for (const v of rendered.spec.template.spec.volumes.filter((x: any) => x.configMap)) expect(v.configMap.defaultMode, v.name).toBe(0o440);
    expect(() => new DaemonSet(rendered).validate()).not.toThrow();
  });

  it('renders a pod that does not read its own logs', () => {
    const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    const out = parseAllDocuments(r.stdout).map((d) => d.toJS());
    const rendered = out.find((o) => o.kind === 'DaemonSet');
    const c = rendered.spec.template.spec.containers.find((x: any) => x.name === 'warden');
    const ns = rendered.metadata.namespace;
    const { own, other } = nodeLogs(ns);
    expect(tailedByPod(c, ns, [...own, ...other])).toEqual(other);
  });
});
