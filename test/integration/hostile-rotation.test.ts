// Issue 15 item 6: files created, written and rotated while warden is not looking. Through the
// `/var/log/containers` symlink only the newest file is visible; its rotated siblings beside the
// link's target (`0.log.<ts>`, `x-json.log.1`) are where the rest went. The real binary, kill -9'd,
// with `warden sink` as its child.
import { appendFileSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor, readNdjson } from '../support/index.js';
import { wardenScope, spawnWarden } from '../support/warden.js';
import { faultConfig, wardenConfig } from '../support/faults.js';

const scope = wardenScope();
const TIME = '2026-12-01T10:10:10.000000000Z';
const ID = 'a'.repeat(64);
const criLines = (tag: string, from: number, n: number) => Array.from({ length: n }, (_, i) => `${TIME} stdout F ${tag}-${from + i}\n`).join('');
const dockerLines = (tag: string, from: number, n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ log: `${tag}-${from + i}\n`, stream: 'stdout', time: TIME }) + '\n').join('');

async function setup() {
  const t = tempDir('warden-rotation-');
  scope.cleanup = t.cleanup;
  const c = await faultConfig(t.dir);
  const podDir = join(c.logs, 'pods', 'ns_pod_uid', 'app');
  const containers = join(c.logs, 'containers');
  const dockerDir = join(c.logs, 'docker', ID);
  for (const d of [podDir, containers, dockerDir]) mkdirSync(d, { recursive: true });
  const cri = join(podDir, '0.log');
  const link = join(containers, `pod_ns_app-${ID}.log`);
  const docker = join(dockerDir, `${ID}-json.log`);
  writeFileSync(cri, '');
  writeFileSync(docker, '');
  symlinkSync(cri, link);
  c.inputs = [
    { name: 'cri', paths: [join(containers, '*.log')], format: 'cri' },
    { name: 'docker', paths: [join(c.logs, 'docker', '*', '*-json.log')], format: 'docker' },
  ];
  return { t, c, cri, docker };
}

const shipped = (out: string) => readNdjson(out).map((r) => String(r.record.log).trimEnd());
const expected = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

describe('rotated while warden was down (issue 15 item 6)', () => {
  it('kill -9, the CRI file (kubelet style, behind the symlink) and the Docker file (shifted) written and rotated twice, restart: every line arrives once', async () => {
    const { t, c, cri, docker } = await setup();
    appendFileSync(cri, criLines('cri', 0, 100));
    appendFileSync(docker, dockerLines('dk', 0, 100));
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    await waitFor('the first lines', () => {
      const got = shipped(c.out);
      return got.includes('cri-99') && got.includes('dk-99');
    }, 20000);
    // Let a checkpoint cover them, then kill -9 warden and its child.
    await new Promise((r) => setTimeout(r, 500));
    await scope.running.kill();
    scope.running = undefined;

    // While warden is down: the live files get more lines and are rotated twice, kubelet style
    // (0.log → 0.log.<ts>, a new 0.log) and Docker style (-json.log → .1, .1 → .2).
    appendFileSync(cri, criLines('cri', 100, 100));
    appendFileSync(docker, dockerLines('dk', 100, 100));
    renameSync(cri, `${cri}.20261201-101010`);
    renameSync(docker, `${docker}.1`);
    writeFileSync(cri, criLines('cri', 200, 100));
    writeFileSync(docker, dockerLines('dk', 200, 100));
    renameSync(cri, `${cri}.20261201-101011`);
    renameSync(`${docker}.1`, `${docker}.2`);
    renameSync(docker, `${docker}.1`);
    writeFileSync(cri, criLines('cri', 300, 100));
    writeFileSync(docker, dockerLines('dk', 300, 100));
    // A compressed rotation is not text to tail.
    writeFileSync(`${cri}.20261201-101009.gz`, 'not a log line\n');

    scope.running = spawnWarden(t.dir, wardenConfig(c));
    await waitFor('every line after the restart', () => {
      const got = new Set(shipped(c.out));
      return expected('cri', 400).every((l) => got.has(l)) && expected('dk', 400).every((l) => got.has(l));
    }, 30000);
    // Two more rescans: nothing already read is read again.
    await new Promise((r) => setTimeout(r, 1000));
    const got = shipped(c.out);
    expect(got.filter((l) => l.startsWith('cri-')).sort()).toEqual(expected('cri', 400).sort());
    expect(got.filter((l) => l.startsWith('dk-')).sort()).toEqual(expected('dk', 400).sort());
    expect(got).not.toContain('not a log line');
  }, 90000);
});

describe('rotated siblings are what rotation makes, and no more', () => {
  async function hostSetup(readFrom: 'head' | 'end') {
    const t = tempDir('warden-siblings-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    c.tail.read_from = readFrom;
    return { t, c, live: join(c.logs, 'app.log') };
  }

  it('a sibling named like no rotation, or excluded, is never read; a rotation beside it is', async () => {
    const { t, c, live } = await hostSetup('head');
    writeFileSync(live, 'live-0\n');
    writeFileSync(`${live}.secret`, 'SECRET-named\n');
    writeFileSync(`${live}.notes`, 'SECRET-notes\n');
    writeFileSync(`${live}.1`, 'SECRET-excluded\n');
    writeFileSync(`${live}.2`, 'rotated-2\n');
    c.tail.exclude = [`${live}.1`];
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    await waitFor('the live line and the rotation', () => shipped(c.out).includes('live-0') && shipped(c.out).includes('rotated-2'), 15000);
    appendFileSync(live, 'live-1\n');
    await waitFor('a later line', () => shipped(c.out).includes('live-1'), 15000);
    expect(shipped(c.out).filter((l) => l.includes('SECRET'))).toEqual([]);
  }, 30000);

  it('read_from end at a first start: siblings already there are not read; one rotated in later is', async () => {
    const { t, c, live } = await hostSetup('end');
    writeFileSync(live, 'old-live\n');
    writeFileSync(`${live}.1`, 'old-rotated\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('warden ready', async () => (await w.get('/readyz').catch(() => ({ status: 0 }))).status === 200, 15000);
    appendFileSync(live, 'new-live\n');
    await waitFor('the new line', () => shipped(c.out).includes('new-live'), 15000);
    // Created, written and rotated between two looks: only its rotated name is ever seen.
    writeFileSync(`${live}.0`, 'rotated-unseen\n');
    appendFileSync(live, 'new-live-2\n');
    await waitFor('the unseen rotation and the next line', () => shipped(c.out).includes('rotated-unseen') && shipped(c.out).includes('new-live-2'), 15000);
    expect(shipped(c.out).filter((l) => l.startsWith('old-'))).toEqual([]);
  }, 30000);
});
