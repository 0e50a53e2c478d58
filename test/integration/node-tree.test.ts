// `warden run` over a generated node tree (Docker json-file, CRI behind /var/log/containers
// symlinks, host logs) into `warden sink`: every logical line arrives; a kill -9 of warden
// mid-stream re-sends only what was delivered and not yet committed; a further restart re-sends nothing.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTree, inputsFor, type GeneratedTree } from '../../scripts/gen-logs.js';
import { freePort, groupAlive, readNdjson, tempDir, waitFor } from '../support/index.js';
import { startWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();


function markers(records: any[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const r of records) {
    // Host lines start with their own timestamp; the marker is the first `<key>#<seq>` word.
    const m = /(?:^| )([a-z]+\d+#\d+) /.exec(String(r.record?.log ?? ''));
    if (m) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
  }
  return seen;
}

/** Markers of every line before each file's committed offset in a checkpoint file. */
function committedMarkers(checkpointPath: string): Set<string> {
  const out = new Set<string>();
  const cp = JSON.parse(readFileSync(checkpointPath, 'utf8'));
  for (const e of cp.files) {
    const file = e.real_path ?? e.path;
    const prefix = readFileSync(file).subarray(0, e.offset).toString('utf8');
    for (const m of prefix.matchAll(/(?:^| |")([a-z]+\d+#\d+) /g)) out.add(m[1]!);
  }
  return out;
}

function expected(tree: GeneratedTree): string[] {
  const out: string[] = [];
  for (const f of tree.files) for (let i = 0; i < f.lines; i++) out.push(`${f.key}#${i}`);
  return out;
}

describe('warden run over a generated node tree', () => {
  it('delivers every line with its tag; kill -9 and restart re-send only what was not committed; a clean restart re-sends nothing', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const tree = generateTree({ root: join(t.dir, 'node'), seed: 7, pods: 6, dockerContainers: 4, hostFiles: 2, totalBytes: 6 * 1024 * 1024, longLineShare: 0.01 });
    const out = join(t.dir, 'out.ndjson');
    const fwdPort = await freePort();
    const window = { batch_max_records: 500, max_inflight_batches: 4 };
    const config = {
      node_name: 'tree-node',
      state_dir: join(t.dir, 'state'),
      health: { listen: `127.0.0.1:${await freePort()}` },
      inputs: inputsFor(tree.root),
      tail: { read_from: 'head', roots: [join(tree.root, 'var/log'), join(tree.root, 'var/lib/docker/containers')], rescan_interval_ms: 200, checkpoint_interval_ms: 50 },
      forward: { to: `tcp://127.0.0.1:${fwdPort}`, flush_interval_ms: 20, ...window },
      child: { command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', out], stop_grace_s: 5 },
      // Delivery is the point here, not budgets: a busy CI box must not throttle reading.
      budgets: { cpu_action: 'none', child: { cpu_millicores: 4000, memory_mib: 1024 }, agent: { cpu_millicores: 4000, memory_mib: 1024 } },
    };
    const want = expected(tree);

    // First run: kill -9 mid-stream.
    scope.running = await startWarden(t.dir, config);
    await waitFor('some records', () => readNdjson(out).length > 2000, 30000);
    // And a checkpoint past some of them: on a busy machine its write can trail the sink's output.
    const checkpoint = join(t.dir, 'state', 'checkpoints.json');
    await waitFor('a checkpoint past some lines', () => existsSync(checkpoint) && committedMarkers(checkpoint).size > 0, 30000);
    const orphan = (await scope.running!.json('/status')).child.pid as number;
    scope.running!.proc.kill('SIGKILL');
    await scope.running!.exited;
    // As when a pod's container dies: the runtime kills what is left of it, the child included.
    process.kill(-orphan, 'SIGKILL');
    await waitFor('the orphaned child to be gone', () => !groupAlive(orphan), 5000);
    const atKill = markers(readNdjson(out));
    const afterKill = atKill.size;
    const committed = committedMarkers(checkpoint);

    // Second run: everything arrives; duplicates only from what the checkpoint had not covered.
    scope.running = await startWarden(t.dir, config);
    await waitFor('every line', () => markers(readNdjson(out)).size >= want.length, 60000, 200);
    const seen = markers(readNdjson(out));
    const missing = want.filter((m) => !seen.has(m));
    expect(missing).toEqual([]);
    // No committed line is sent again: every duplicate lies after its file's checkpoint as it
    // stood at the kill. Re-sent are only what was in flight plus what was acked after the last
    // checkpoint write (tail.checkpoint_interval_ms).
    const dupes = [...seen].filter(([, n]) => n > 1).map(([m]) => m);
    expect(committed.size).toBeGreaterThan(0);
    expect(dupes.filter((m) => committed.has(m))).toEqual([]);
    // Re-sent is only what had been delivered and was not yet committed at the kill (in flight,
    // or acked after the last checkpoint write): how much that is depends on the rate.
    expect(dupes.filter((m) => !atKill.has(m))).toEqual([]);
    expect(dupes.length).toBeLessThanOrEqual(atKill.size - committed.size);
    expect(afterKill).toBeGreaterThan(0);

    // Tags and metadata.
    const recs = readNdjson(out);
    const byKey = new Map(tree.files.map((f) => [f.key, f]));
    for (const r of recs.slice(0, 2000)) {
      const key = /(?:^| )([a-z]+\d+)#\d+ /.exec(String(r.record.log))![1]!;
      const f = byKey.get(key)!;
      expect(r.tag).toBe(f.tag);
      if (f.format === 'cri') expect(r.record.kubernetes?.pod_name).toBe(f.tag.split('.')[2]);
      if (f.format === 'docker') expect(r.record.docker?.container_id).toBe(f.tag.slice('docker.'.length));
    }
    // The first run may have shipped every line before its kill: then the second has nothing to
    // send and is only starting here.
    const r2 = scope.running!;
    await waitFor('the second run ready', async () => (await r2.get('/readyz')).status === 200, 20000);
    // Every line seen can come before the second run has read its files to the end: when the first
    // run shipped nearly all of them, what the second re-sends is already there. Stopped then, it
    // commits only what was acked, and the third run rightly reads the rest again. So it is
    // stopped once its checkpoint covers every line.
    await waitFor('a checkpoint covering every line', () => committedMarkers(checkpoint).size >= want.length, 30000, 200);
    const { code } = await r2.stop();
    expect(code).toBe(0);

    // Third run after a clean stop: nothing is sent again.
    const before = readNdjson(out).length;
    scope.running = await startWarden(t.dir, config);
    const r3 = scope.running;
    await waitFor('ready', async () => (await r3.get('/readyz')).status === 200, 20000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(readNdjson(out).length).toBe(before);
    expect((await r3.stop()).code).toBe(0);
  }, 120_000);
});
