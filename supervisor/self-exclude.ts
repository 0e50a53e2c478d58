// warden must not tail its own pod's container logs: it copies the child's output into its own
// log, so a child that prints what it receives would feed every record back in, nested deeper each
// round. The pod's identity comes from the downward API (POD_NAME, POD_NAMESPACE, POD_UID); the
// container's own id, where /proc names it (supervisor/procfs/container.ts), also covers
// `docker run` and Docker's own json logs, where no pod variables are set.
import type { Config } from '../config/schema.js';
import type { OwnContainer } from './procfs/container.js';

/** A Kubernetes object name (DNS subdomain): nothing a glob would read as a wildcard. */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface SelfExcludes {
  globs: string[];
  /** Why the pod's names exclude nothing although its variables are set (a value that is no valid name). */
  problem?: string;
}

/**
 * Globs matching the pod's own logs wherever the tree is rooted: the kubelet's
 * `containers/<pod>_<namespace>_<container>-<id>.log` links and the `pods/<namespace>_<pod>_<uid>/`
 * directory they point into (any uid when POD_UID is not given); with the container's own id,
 * its `containers/*_<namespace>_*-<id>.log` link and Docker's `containers/<id>/` directory. Empty
 * without POD_NAME and POD_NAMESPACE and without a container id (a bare host).
 */
export function selfExcludeGlobs(env: NodeJS.ProcessEnv, container: OwnContainer | null = null): SelfExcludes {
  const pod = env.POD_NAME ?? '';
  const ns = env.POD_NAMESPACE ?? '';
  const uid = env.POD_UID ?? '';
  const globs: string[] = [];
  let problem: string | undefined;
  const bad = pod && ns ? ([['POD_NAME', pod], ['POD_NAMESPACE', ns]] as const).find(([, value]) => !NAME.test(value)) : undefined;
  if (bad) problem = `${bad[0]}=${JSON.stringify(bad[1].slice(0, 80))} is not a Kubernetes name`;
  else if (pod && ns) {
    const podDir = uid && /^[0-9a-f-]+$/i.test(uid) ? `${ns}_${pod}_${uid}` : `${ns}_${pod}_*`;
    globs.push(`/**/containers/${pod}_${ns}_*.log`, `/**/pods/${podDir}/**`);
  }
  if (container && /^[0-9a-f]{64}$/.test(container.id)) {
    const nsPart = NAME.test(ns) ? ns : '*';
    globs.push(`/**/containers/*_${nsPart}_*-${container.id}.log`, `/**/containers/${container.id}/**`);
  }
  return problem === undefined ? { globs } : { globs, problem };
}

/** `config` with the pod's and the container's own logs in `tail.exclude` when `tail.exclude_self` is on. */
export function withSelfExcludes(config: Config, env: NodeJS.ProcessEnv, container: OwnContainer | null = null): { config: Config; self: SelfExcludes } {
  if (!config.tail.exclude_self) return { config, self: { globs: [] } };
  const self = selfExcludeGlobs(env, container);
  if (!self.globs.length) return { config, self };
  return { config: { ...config, tail: { ...config.tail, exclude: [...config.tail.exclude, ...self.globs] } }, self };
}
