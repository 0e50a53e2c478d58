// The tail pipeline end to end: real files → TailPipeline → real ForwardClient (shared key) → real
// `warden sink` receiver on 127.0.0.1, including the receiver going away and coming back.
import { appendFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ForwardClient } from '../../agent/forward/client.js';
import { startSink, type Sink } from '../../agent/forward/sink.js';
import { createMetrics } from '../../agent/health/metrics.js';
import { TailPipeline } from '../../agent/tail/pipeline.js';
import { captureLogger, counter, readNdjson, waitFor } from '../support/index.js';
import { caughtUp, tailConfig, tailTree } from '../support/tail.js';

const tree = tailTree('warden-tfwd-');
const sinkOut = () => join(tree.root, 'sink.ndjson');

const KEY = 'test-shared-key';

const received = () => readNdjson(sinkOut());

function startAgent(to: string) {
  const { logger } = captureLogger('warn');
  const metrics = createMetrics({ defaults: false });
  const config = tailConfig(
    tree.stateDir,
    [tree.logDir],
    [
      { name: 'containers', paths: [join(tree.logDir, 'containers', '*.log')], format: 'auto' },
      { name: 'docker', paths: [join(tree.logDir, 'docker', '*', '*-json.log')], format: 'docker' },
      { name: 'host', paths: [join(tree.logDir, '*.log')], format: 'plain' },
    ],
    {},
    { to, max_inflight_batches: 2, batch_max_records: 20 },
  );
  const client = new ForwardClient({ to, sharedKey: KEY, selfHostname: 'agent-host', ackTimeoutMs: 2000, connectTimeoutMs: 1000, maxInflight: 2, logger, metrics, reconnect: { initialMs: 20, maxMs: 100 } });
  client.start();
  const p = new TailPipeline({ config, sender: client, logger, metrics, host: 'node-x' });
  return { p, client, metrics };
}

describe('tail pipeline into the real ForwardClient and sink', () => {
  it('delivers docker, CRI-behind-symlink and host lines; survives the receiver going away; a restart re-sends nothing', async () => {
    let sink: Sink = await startSink({ listen: 'tcp://127.0.0.1:0', out: sinkOut(), sharedKey: KEY });
    const port = sink.port!;
    const to = `tcp://127.0.0.1:${port}`;
    const id = 'e'.repeat(64);
    mkdirSync(join(tree.logDir, 'docker', id), { recursive: true });
    const dockerFile = join(tree.logDir, 'docker', id, `${id}-json.log`);
    const podDir = join(tree.logDir, 'pods', 'ns_pod-a_uid-9', 'c1');
    mkdirSync(podDir, { recursive: true });
    mkdirSync(join(tree.logDir, 'containers'));
    const criFile = join(podDir, '0.log');
    const hostFile = join(tree.logDir, 'syslog.log');
    const dj = (s: string) => JSON.stringify({ log: s + '\n', stream: 'stderr', time: '2024-02-02T10:00:00.123456789Z' }) + '\n';
    const cri = (s: string) => `2024-02-02T10:00:00.000000002+00:00 stdout F ${s}\n`;
    const writeAll = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        appendFileSync(dockerFile, dj(`dk-${i}`));
        appendFileSync(criFile, cri(`cr-${i}`));
        appendFileSync(hostFile, `hs-${i}\n`);
      }
    };
    writeAll(0, 100);
    symlinkSync(criFile, join(tree.logDir, 'containers', `pod-a_ns_c1-${'f'.repeat(64)}.log`));

    const a = startAgent(to);
    await a.p.start();
    await waitFor('300 records', () => received().length >= 300, 15_000);

    // The receiver goes away: lines keep coming, reading backs off, nothing is committed meanwhile.
    await sink.close();
    writeAll(100, 200);
    await waitFor('the client saw the receiver go', async () => (await counter(a.metrics.forwardConnected)) === 0);
    sink = await startSink({ listen: to, out: sinkOut(), sharedKey: KEY });
    await waitFor('all 600 distinct lines', () => new Set(received().map((r) => r.record.log)).size >= 600, 15_000);
    await a.p.stop();
    await a.client.close();

    const logs = received().map((r) => r.record.log as string);
    for (const prefix of ['dk', 'cr', 'hs']) {
      const mine = logs.filter((l) => l.startsWith(prefix + '-')).map((l) => Number(l.slice(3)));
      expect(new Set(mine).size).toBe(200);
      // In order per file (resends may repeat a window, never reorder what was first delivered).
      const firsts = [...new Set(mine)];
      expect(firsts).toEqual([...firsts].sort((x, y) => x - y));
    }
    const byTag = Object.fromEntries(received().map((r) => [r.tag, r.record]));
    expect(byTag[`docker.${id}`]).toMatchObject({ stream: 'stderr', docker: { container_id: id }, host: 'node-x' });
    expect(byTag['kube.ns.pod-a.c1']).toMatchObject({ kubernetes: { namespace_name: 'ns', pod_name: 'pod-a', pod_uid: 'uid-9', container_name: 'c1' } });
    expect(byTag['host.syslog']).toMatchObject({ log: expect.stringMatching(/^hs-/) });

    // A further restart over the same state_dir re-sends nothing.
    const before = received().length;
    const b = startAgent(to);
    await b.p.start();
    // A line written now arrives after anything the restart would have sent again.
    appendFileSync(hostFile, 'hs-after-restart\n');
    await waitFor('the line after the restart', () => received().some((r) => r.record.log === 'hs-after-restart'), 15_000);
    await caughtUp(b.p, hostFile);
    await b.p.stop();
    await b.client.close();
    expect(received().slice(before).map((r) => r.record.log)).toEqual(['hs-after-restart']);
    await sink.close();
  });
});
