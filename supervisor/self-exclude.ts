// warden must not tail its own pod's container logs: it copies the child's output into its own
// log, so a child that prints what it receives would feed every record back in, nested deeper each
// round. The pod's identity comes from the downward API (POD_NAME, POD_NAMESPACE, POD_UID).
import type { Config } from '../config/schema.js';

/** A Kubernetes object name (DNS subdomain): nothing a glob would read as a wildcard. */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface SelfExcludes {
  globs: string[];
  /** Why nothing is excluded although the pod's variables are set (a value that is no valid name). */
  problem?: string;
}

/**
 * Globs matching the pod's own logs wherever the tree is rooted: the kubelet's
 * `containers/<pod>_<namespace>_<container>-<id>.log` links and the `pods/<namespace>_<pod>_<uid>/`
 * directory they point into (any uid when POD_UID is not given). Empty without POD_NAME and
 * POD_NAMESPACE (a bare host, `docker run`).
 */
export function selfExcludeGlobs(env: NodeJS.ProcessEnv): SelfExcludes {
  const pod = env.POD_NAME ?? '';
  const ns = env.POD_NAMESPACE ?? '';
  const uid = env.POD_UID ?? '';
  if (!pod || !ns) return { globs: [] };
  for (const [key, value] of [['POD_NAME', pod], ['POD_NAMESPACE', ns]] as const) {
    if (!NAME.test(value)) return { globs: [], problem: `${key}=${JSON.stringify(value.slice(0, 80))} is not a Kubernetes name` };
  }
  const podDir = uid && /^[0-9a-f-]+$/i.test(uid) ? `${ns}_${pod}_${uid}` : `${ns}_${pod}_*`;
  return { globs: [`/**/containers/${pod}_${ns}_*.log`, `/**/pods/${podDir}/**`] };
}

/** `config` with the pod's own logs in `tail.exclude` when `tail.exclude_self` is on. */
export function withSelfExcludes(config: Config, env: NodeJS.ProcessEnv): { config: Config; self: SelfExcludes } {
  if (!config.tail.exclude_self) return { config, self: { globs: [] } };
  const self = selfExcludeGlobs(env);
  if (!self.globs.length) return { config, self };
  return { config: { ...config, tail: { ...config.tail, exclude: [...config.tail.exclude, ...self.globs] } }, self };
}
