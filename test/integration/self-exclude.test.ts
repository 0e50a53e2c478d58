// A warden in a pod never ships its own pod's container logs: with POD_NAME / POD_NAMESPACE /
// POD_UID from the downward API, the kubelet's link to its log and the pods/ directory behind it
// are excluded (tail.exclude_self), wherever the tree is rooted.
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, readNdjson, tempDir, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

const POD = { name: 'warden-x7k2p', namespace: 'kube-system', uid: '0f5e6b1c-2d3a-4e5f-8a9b-1c2d3e4f5a6b' };
const ID = 'c'.repeat(64);
const cri = (text: string) => `2026-12-01T10:00:00.000000000Z stdout F ${text}\n`;

/** A node's /var/log: pods/<ns>_<pod>_<uid>/<container>/0.log, and containers/ links to them. */
function addPod(logRoot: string, ns: string, pod: string, uid: string, container: string, lines: string[]): { link: string; file: string } {
  const podDir = join(logRoot, 'pods', `${ns}_${pod}_${uid}`, container);
  mkdirSync(podDir, { recursive: true });
  const file = join(podDir, '0.log');
  writeFileSync(file, lines.map(cri).join(''));
  const link = join(logRoot, 'containers', `${pod}_${ns}_${container}-${ID}.log`);
  mkdirSync(join(logRoot, 'containers'), { recursive: true });
  symlinkSync(file, link);
  return { link, file };
}

async function run(extraEnv: Record<string, string>, excludeSelf?: boolean) {
  const t = tempDir();
  scope.cleanup = t.cleanup;
  const logRoot = join(t.dir, 'var/log');
  const own = addPod(logRoot, POD.namespace, POD.name, POD.uid, 'warden', ['own line 1', 'own line 2']);
  const other = addPod(logRoot, 'default', 'web-5d8f7', '11111111-2222-3333-4444-555555555555', 'nginx', ['other line 1']);
  // The same pod name in another namespace is another pod.
  const twin = addPod(logRoot, 'other', POD.name, '66666666-7777-8888-9999-000000000000', 'warden', ['twin line 1']);
  const [healthPort, fwdPort] = [await freePort(), await freePort()];
  const config = {
    state_dir: join(t.dir, 'state'),
    health: { listen: `127.0.0.1:${healthPort}` },
    inputs: [
      { name: 'containers', paths: [join(logRoot, 'containers/*.log')], format: 'auto' },
      // Reading pods/ directly too: the pod's own directory is excluded there as well.
      { name: 'pods', paths: [join(logRoot, 'pods/**/*.log')], format: 'auto' },
    ],
    tail: { read_from: 'head', roots: [logRoot], rescan_interval_ms: 200, checkpoint_interval_ms: 50, ...(excludeSelf === undefined ? {} : { exclude_self: excludeSelf }) },
    forward: { to: `tcp://127.0.0.1:${fwdPort}`, flush_interval_ms: 20 },
    child: { command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(t.dir, 'out.ndjson')], stop_grace_s: 2 },
  };
  const w = (scope.running = spawnWarden(t.dir, config, { env: extraEnv }));
  await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 30_000);
  return { t, w, own, other, twin, out: join(t.dir, 'out.ndjson') };
}

const POD_ENV = { POD_NAME: POD.name, POD_NAMESPACE: POD.namespace, POD_UID: POD.uid };

describe('tail.exclude_self', () => {
  it('with the downward API variables set, the pod\'s own log is never opened nor shipped', async () => {
    const { w, own, other, twin, out } = await run(POD_ENV);
    // Each other pod's file is read once (by identity: the link and its target are one file); the
    // scan that found them walked the pod's own link and directory too.
    const logs = await waitFor('the other pods\' lines', () => {
      const r = readNdjson(out).map((x) => x.record.log);
      return r.includes('other line 1') && r.includes('twin line 1') ? r : null;
    }, 20_000);
    expect(logs.filter((l: string) => l.startsWith('own'))).toEqual([]);
    const paths = (await w.json('/status')).files.map((f: any) => f.path);
    expect(paths).toEqual(expect.arrayContaining([other.link, twin.link]));
    expect(paths).not.toContain(own.link);
    expect(paths).not.toContain(own.file);
    // Lines written later (warden's own log growing) stay out too.
    appendFileSync(own.file, cri('own line 3'));
    appendFileSync(other.file, cri('other line 2'));
    await waitFor('the later line of the other pod', () => readNdjson(out).some((x) => x.record.log === 'other line 2'), 20_000);
    expect(readNdjson(out).filter((x) => String(x.record.log).startsWith('own'))).toEqual([]);
    expect(w.output()).toContain('this pod\'s own logs are not tailed');
  });

  it('is off with tail.exclude_self: false', async () => {
    const { out } = await run(POD_ENV, false);
    await waitFor('the pod\'s own lines shipped when asked to', () => readNdjson(out).some((x) => x.record.log === 'own line 1'), 20_000);
  });

  it('is off without the variables (a bare host, docker run)', async () => {
    const { out } = await run({ POD_NAME: '', POD_NAMESPACE: '' });
    await waitFor('every line shipped', () => readNdjson(out).some((x) => x.record.log === 'own line 1'), 20_000);
  });
});
