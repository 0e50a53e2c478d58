// Issue 15 item 13: a running warden whose config file, or a file in reload.watch_also, is
// replaced by a FIFO keeps answering and keeps its running config, saying why; neither the
// watcher's poll nor a SIGHUP reload waits on the FIFO.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logEntries, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';
import { scopedFaultConfig, wardenConfig } from '../support/faults.js';

const scope = wardenScope();

/** `path` replaced by a FIFO with no writer, in one rename. */
function swapForFifo(path: string): void {
  execFileSync('mkfifo', [`${path}.fifo`]);
  renameSync(`${path}.fifo`, path);
}

describe('a config file swapped for a FIFO under a running warden', () => {
  it('warden.yaml and a watch_also file: /healthz answers within 1 s, the running config stays, the reason is logged', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-swapped-');
    const fluentConf = join(t.dir, 'fluent.conf');
    writeFileSync(fluentConf, '<source>\n</source>\n');
    const cfg = join(t.dir, 'warden.yaml');
    writeFileSync(join(c.logs, 'app.log'), 'before\n');
    const w = (scope.running = spawnWarden(t.dir, { ...wardenConfig(c), reload: { watch_interval_ms: 100, watch_also: [fluentConf] } }));
    await waitFor('a line delivered', () => existsSync(c.out) && readFileSync(c.out, 'utf8').includes('before'), 30_000);
    const before = await w.json('/status');

    /** Five /healthz probes, each answered 200 within 1 s. */
    const answers = async () => {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await fetch(`${w.base}/healthz`, { signal: AbortSignal.timeout(1000) });
        expect(res.status).toBe(200);
        expect(performance.now() - t0).toBeLessThan(1000);
      }
    };
    const refused = (path: string) =>
      waitFor(`the watcher's reason for ${path}`, () =>
        logEntries(w.stdout()).find((l) => l.msg === 'cannot read a watched configuration file; the running configuration stays' && l.path === path),
      10_000);

    swapForFifo(cfg);
    expect(String((await refused(cfg)).err)).toBe(`(file): ${cfg} is not a regular file (a fifo); never read`);
    await answers();

    w.proc.kill('SIGHUP');
    const st = await waitFor('the SIGHUP reload refused', async () => {
      const s = await w.json('/status');
      return s.reload?.result === 'refused' && s;
    }, 10_000);
    expect(st.reload.errors).toEqual([`(file): ${cfg} is not a regular file (a fifo); never read`]);
    await answers();

    swapForFifo(fluentConf);
    expect(String((await refused(fluentConf)).err)).toContain(`${fluentConf} is not a regular file (a fifo)`);
    await answers();

    // The running config is in force and shipping: same config, same child.
    appendFileSync(join(c.logs, 'app.log'), 'after\n');
    await waitFor('a line delivered after the swaps', () => readFileSync(c.out, 'utf8').includes('after'), 20_000);
    const after = await w.json('/status');
    expect(after.config_hash).toBe(before.config_hash);
    expect(after.child.pid).toBe(before.child.pid);
    expect((await w.stop()).code).toBe(0);
  }, 90_000);
});
