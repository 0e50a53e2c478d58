// The cgroup modules (supervisor/cgroup/) at the path the governor, run.ts and tests import from.
export { delegatedCgroupV2, type Delegation } from '../cgroup/delegation.js';
export { parseCfsQuota, parseCpuMax, parseMemoryValue, readContainerLimits, type Limits } from '../cgroup/limits.js';
export { parseMountinfo, parseProcCgroup, type CgroupMembership, type CgroupMount, type CgroupSources, type CgroupVersion } from '../cgroup/mounts.js';
export { parseOomKills } from '../cgroup/oom.js';
export { parseMemoryStat, readPodUsage, workingSet, type PodUsage } from '../cgroup/usage.js';
