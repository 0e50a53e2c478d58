// The bench's pod rows run warden on the shipped deploy/docker/warden.yaml, adapted: paths under the
// bench's tree, ports on loopback, and the shipped watch on fluent.conf pointed at the bench's copy.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../config/schema.js';
import { shippedFluentdCommand, shippedWardenConfig } from '../../../scripts/bench/pod/config.js';

describe('bench pod: the shipped warden.yaml, adapted', () => {
  const dir = '/tmp/bench-pod-row';
  const conf = join(dir, 'fluent.conf');
  const fluentd = shippedFluentdCommand('/usr/local/bin/fluentd', conf);

  it.each([
    ['a fluentd child', fluentd, [conf]],
    ["a fluentd child behind the pod's wrapper (the ceiling row)", ['sh', '-c', 'enter "$@"', 'sh', '--', ...fluentd], [conf]],
    ['a sink child (quick run)', ['warden', 'sink', '--count-only'], []],
  ])('%s: valid, the fluent.conf watch on the bench copy', (_name, child, watched) => {
    const c = shippedWardenConfig('/tmp/bench-tree', dir, 9880, 24224, child) as Record<string, any>;
    expect(configSchema.safeParse(c).success).toBe(true);
    expect(c.reload.watch_also).toEqual(watched);
    expect(c.child.command).toEqual(child);
    expect(c.inputs.every((i: { paths: string[] }) => i.paths.every((p) => p.startsWith('/tmp/bench-tree/')))).toBe(true);
  });
});
