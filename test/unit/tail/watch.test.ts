// What the tail's inotify watching finds without a rescan (the rescan is a minute away in every
// case here): real files in a temp tree, an in-memory acking sender (a fake for the Forward client).
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../support/index.js';
import { pipelineScope, tailTree, type MemorySender } from '../../support/tail.js';

const line = (s: string) => `${JSON.stringify({ log: `${s}\n`, stream: 'stdout', time: '2026-01-01T00:00:00.000000000Z' })}\n`;
const tree = tailTree('warden-watch-');
const pipelines = pipelineScope(tree);

/** The Docker layout under the tree's log dir, container `a` holding one file; the rescan a minute away. */
async function start(first?: string): Promise<{ containers: string; sender: MemorySender }> {
  const containers = join(tree.logDir, 'containers');
  mkdirSync(join(containers, 'a'), { recursive: true });
  writeFileSync(join(containers, 'a/a-json.log'), first ? line(first) : '');
  const { sender } = await pipelines.start({ inputs: [{ name: 'docker', paths: [join(containers, '*/*-json.log')], format: 'docker' }], tail: { rescan_interval_ms: 60_000 } });
  if (first) await waitFor('the first file', () => sender.logs().includes(first));
  return { containers, sender };
}

describe('tail watching (inotify, no rescan)', () => {
  it('a container directory created after start is watched: its log, written before and after, arrives', async () => {
    const { containers, sender } = await start('a0');
    const b = join(containers, 'b');
    mkdirSync(b);
    writeFileSync(join(b, 'b-json.log'), line('b0'));
    await waitFor('the new directory’s file', () => sender.logs().includes('b0'), 5000);
    appendFileSync(join(b, 'b-json.log'), line('b1'));
    appendFileSync(join(containers, 'a/a-json.log'), line('a1'));
    await waitFor('later writes to both', () => sender.logs().includes('b1') && sender.logs().includes('a1'), 5000);
  });

  it('many small writes in a burst are read in few reads: every line arrives, in order', async () => {
    const { containers, sender } = await start();
    const file = join(containers, 'a/a-json.log');
    const want: string[] = [];
    for (let i = 0; i < 200; i++) {
      appendFileSync(file, line(`w${i}`));
      want.push(`w${i}`);
    }
    await waitFor('every line of the burst', () => sender.logs().length >= want.length, 5000);
    expect(sender.logs()).toEqual(want);
  });

  it('a removed and re-created container directory is watched again', async () => {
    const { containers, sender } = await start('a0');
    rmSync(join(containers, 'a'), { recursive: true });
    mkdirSync(join(containers, 'a'));
    writeFileSync(join(containers, 'a/a-json.log'), line('again'));
    await waitFor('the re-created directory’s file', () => sender.logs().includes('again'), 5000);
  });
});
