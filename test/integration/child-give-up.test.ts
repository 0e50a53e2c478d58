// child.restart.give_up_after: a child that fails fast that many times in a row is given up, and
// warden stops and exits 3 ("child given up"), so the kubelet or systemd sees a failed container or
// unit instead of a pod that looks alive. Without the key warden never gives up (a crash loop is
// `degraded`, retried at backoff_max_ms).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, freePort, logEntries, tempDir, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

async function crashingChild(dir: string, giveUpAfter?: number) {
  const [healthPort, fwdPort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'logs'));
  return {
    state_dir: join(dir, 'state'),
    health: { listen: `127.0.0.1:${healthPort}` },
    inputs: [{ name: 'host', paths: [join(dir, 'logs/*.log')], format: 'plain' }],
    tail: { roots: [join(dir, 'logs')] },
    forward: { to: `tcp://127.0.0.1:${fwdPort}` },
    child: {
      command: [process.execPath, fixture('exit-code.mjs'), '1'],
      stop_grace_s: 1,
      restart: { backoff_initial_ms: 20, backoff_max_ms: 100, degraded_after: 2, ...(giveUpAfter === undefined ? {} : { give_up_after: giveUpAfter }) },
    },
  };
}

describe('child.restart.give_up_after', () => {
  it('three fast failures in a row: warden gives up on the child, stops cleanly and exits 3', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const w = (scope.running = spawnWarden(t.dir, await crashingChild(t.dir, 3)));
    const exit = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(exit).toEqual({ code: 3, signal: null });
    const log = logEntries(w.stdout());
    expect(log.filter((l) => l.msg === 'child started')).toHaveLength(3);
    const gaveUp = log.find((l) => l.msg?.startsWith('giving up on the child'));
    expect(gaveUp).toMatchObject({ level: 'fatal', failures: 3, give_up_after: 3, last_exit: 'exited(1)' });
    expect(log.at(-1)).toMatchObject({ msg: 'stopped', exit: 3 });
  });

  it('without it, a crash loop is retried for ever (degraded), and SIGTERM still exits 0', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const w = (scope.running = spawnWarden(t.dir, await crashingChild(t.dir)));
    await waitFor('six starts', () => logEntries(w.stdout()).filter((l) => l.msg === 'child started').length >= 6, 20_000);
    expect((await w.json('/status')).child.degraded).toBe(true);
    expect((await w.stop()).code).toBe(0);
  });
});
