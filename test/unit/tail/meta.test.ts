// The tag and metadata the tail pipeline ships come from parse/kubernetes.ts pathMeta, whatever
// the file is: real files in a temp tree, an in-memory acking sender (a fake for the Forward client).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../support/index.js';
import { pipelineScope, tailTree, type MemorySender } from '../../support/tail.js';

const ID = '0123456789abcdef'.repeat(4);
const tree = tailTree('warden-meta-');
const pipelines = pipelineScope(tree);

async function ship(containers: string, files: Record<string, string>): Promise<MemorySender> {
  for (const [name, body] of Object.entries(files)) writeFileSync(join(containers, name), body);
  const { sender } = await pipelines.start({ inputs: [{ name: 'containers', paths: [join(containers, '*.log')], format: 'auto' }], roots: [tree.root] });
  return sender;
}

describe('tail metadata (in-memory acking sender)', () => {
  it('a regular file named like a kubelet container log under /var/log/containers ships as that container', async () => {
    const containers = join(tree.root, 'var/log/containers');
    mkdirSync(containers, { recursive: true });
    const name = `web-1_prod_app-${ID}.log`;
    const sender = await ship(containers, {
      [name]: '2026-01-01T00:00:00.000000000Z stdout F hello\n',
      'other.log': 'plain line\n',
    });
    await waitFor('both files', () => sender.got.length >= 2);
    const kube = sender.got.find((g) => g.record.log === 'hello')!;
    expect(kube.tag).toBe('kube.prod.web-1.app');
    // Its pod uid is not in the name: the record leaves it out.
    expect(kube.record.kubernetes).toEqual({ namespace_name: 'prod', pod_name: 'web-1', container_name: 'app' });
    const host = sender.got.find((g) => g.record.log === 'plain line')!;
    expect(host.tag).toBe('host.other');
    expect(host.record.kubernetes).toBeUndefined();
  });

  it('through a symlink into /var/log/pods the pods path wins (pod uid known)', async () => {
    const containers = join(tree.root, 'var/log/containers');
    const pod = join(tree.root, 'var/log/pods/prod_web-1_uid-1/app');
    mkdirSync(containers, { recursive: true });
    mkdirSync(pod, { recursive: true });
    writeFileSync(join(pod, '0.log'), '2026-01-01T00:00:00.000000000Z stderr F linked\n');
    symlinkSync(join(pod, '0.log'), join(containers, `web-1_prod_app-${ID}.log`));
    const sender = await ship(containers, {});
    await waitFor('the linked file', () => sender.got.length >= 1);
    expect(sender.got[0]!.tag).toBe('kube.prod.web-1.app');
    expect(sender.got[0]!.record.kubernetes).toEqual({ namespace_name: 'prod', pod_name: 'web-1', pod_uid: 'uid-1', container_name: 'app' });
  });
});
