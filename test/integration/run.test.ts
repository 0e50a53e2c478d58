// End to end: the real `warden run` with the real `warden sink` (or a fixture) as its child.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WARDEN, fixture, freePort, groupAlive, readNdjson, tempDir, waitFor } from '../support/index.js';
import { startWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();


async function baseConfig(dir: string) {
  const healthPort = await freePort();
  const fwdPort = await freePort();
  mkdirSync(join(dir, 'logs'), { recursive: true });
  return {
    node_name: 'test-node',
    state_dir: join(dir, 'state'),
    health: { listen: `127.0.0.1:${healthPort}` },
    inputs: [{ name: 'host', paths: [join(dir, 'logs', '*.log')], format: 'plain' }],
    tail: { read_from: 'head', roots: [join(dir, 'logs')], rescan_interval_ms: 200, checkpoint_interval_ms: 50 },
    forward: { to: `tcp://127.0.0.1:${fwdPort}`, flush_interval_ms: 20 },
    child: {
      command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(dir, 'out.ndjson')],
      stop_grace_s: 2,
      restart: { backoff_initial_ms: 100, backoff_max_ms: 1000, stable_after_s: 5 },
    },
  };
}

/** warden with the sink child on a fresh temp tree, once /readyz says 200. */
async function startReady() {
  const t = tempDir();
  scope.cleanup = t.cleanup;
  const config = await baseConfig(t.dir);
  const w = (scope.running = await startWarden(t.dir, config));
  await waitFor('ready', async () => (await w.get('/readyz')).status === 200);
  return { t, config, w };
}

describe('warden run with warden sink as the child', () => {
  it('becomes ready, ships host log lines with metadata, and stops cleanly with exit 0', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const config = await baseConfig(t.dir);
    writeFileSync(join(t.dir, 'logs', 'app.log'), 'first line\nsecond line\n');
    scope.running = await startWarden(t.dir, config);
    const w = scope.running;
    await waitFor('/readyz 200', async () => (await w.get('/readyz')).status === 200);
    appendFileSync(join(t.dir, 'logs', 'app.log'), 'third line\n');
    const out = join(t.dir, 'out.ndjson');
    const recs = await waitFor('three records in the sink', () => {
      const r = readNdjson(out);
      return r.length >= 3 ? r : null;
    });
    expect(recs.map((r) => r.record.log)).toEqual(['first line', 'second line', 'third line']);
    expect(recs[0].tag).toBe('host.app');
    expect(recs[0].record.host).toBe('test-node');
    const status = await w.json('/status');
    expect(status.child.state).toBe('ready');
    expect(typeof status.child.pid).toBe('number');
    const childPid = status.child.pid as number;
    const { code } = await w.stop();
    expect(code).toBe(0);
    await waitFor('the child group to be gone', () => !groupAlive(childPid), 2000);
    expect(w.output()).not.toContain(process.env.WARDEN_FORWARD_SHARED_KEY ?? 'no-such-key-in-env');
    // Each entry's `pid` is warden's own, once; the child's process is `child_pid`.
    const started = w.stdout().split('\n').find((l) => l.includes('"msg":"child started"'));
    expect(started?.match(/"pid":/g)).toHaveLength(1);
    expect(JSON.parse(started!)).toMatchObject({ pid: w.proc.pid, child_pid: childPid });
  });

  it('kill -9 of the child: /readyz goes 503, the child is restarted, signaled(SIGKILL) in /status and metrics', async () => {
    const { w } = await startReady();
    const first = (await w.json('/status')).child.pid as number;
    process.kill(first, 'SIGKILL');
    await waitFor('/readyz 503', async () => (await w.get('/readyz')).status === 503, 5000, 10);
    await waitFor('ready again', async () => (await w.get('/readyz')).status === 200);
    const status = await w.json('/status');
    expect(status.child.pid).not.toBe(first);
    expect(status.child.restarts).toBeGreaterThanOrEqual(1);
    expect(status.child.last_exit.reason).toBe('signaled(SIGKILL)');
    const metrics = (await w.get('/metrics')).body;
    expect(metrics).toMatch(/warden_child_restarts_total\{reason="signaled"\} 1/);
    expect((await w.get('/healthz')).status).toBe(200);
  });

  it('SIGTERM to warden whose child ignores SIGTERM: the group is SIGKILLed after stop_grace_s, exit 0, nothing remains', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const config = await baseConfig(t.dir);
    const port = Number(config.forward.to.split(':').pop());
    config.child.command = [process.execPath, fixture('ignore-sigterm.mjs')];
    config.child.stop_grace_s = 1;
    scope.running = await startWarden(t.dir, { ...config, forward: { ...config.forward, shared_key: 'none' } }, { PORT: String(port) });
    const w = scope.running;
    await waitFor('child started', async () => (await w.json('/status')).child.state === 'ready');
    const pgid = (await w.json('/status')).child.pid as number;
    const t0 = Date.now();
    const { code } = await w.stop();
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // Killed members may linger as zombies for a moment until init reaps them after warden exits.
    await waitFor('the child group to be gone', () => !groupAlive(pgid), 2000);
  });

  it('run under systemd (NOTIFY_SOCKET set): the child gets its Forward variables but none of systemd\'s notify variables', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const config = await baseConfig(t.dir);
    const envFile = join(t.dir, 'child-env.json');
    config.child.command = [process.execPath, '-e', `require('node:fs').writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(process.env)); setInterval(() => {}, 1000)`];
    const notify = { NOTIFY_SOCKET: join(t.dir, 'nobody.sock'), WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' };
    scope.running = await startWarden(t.dir, config, notify);
    const seen = await waitFor('the child wrote its env', () => (existsSync(envFile) ? readFileSync(envFile, 'utf8') : null));
    const env = JSON.parse(seen) as Record<string, string>;
    expect(env.WARDEN_FORWARD_TO).toBe(config.forward.to);
    for (const key of Object.keys(notify)) expect(env).not.toHaveProperty(key);
    expect((await scope.running.stop()).code).toBe(0);
  });

  it('refuses a config with a misspelt section and a wrongly typed value, in check-config and run alike', async () => {
    const t = tempDir();
    scope.cleanup = t.cleanup;
    const bad = join(t.dir, 'bad.yaml');
    writeFileSync(bad, 'tial:\n  read_from: end\nchild:\n  stop_grace_s: soon\n');
    for (const cmd of ['check-config', 'run']) {
      const r = spawnSync(process.execPath, [WARDEN, cmd, '--config', bad], { encoding: 'utf8', timeout: 10000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('tial: unknown key; did you mean tail?');
      expect(r.stderr).toContain('child.stop_grace_s:');
    }
  });

  it('SIGHUP with a broken file keeps the old child; a good file is applied and the sink child survives its reload signal', async () => {
    const { t, config, w } = await startReady();
    const pid = (await w.json('/status')).child.pid;
    writeFileSync(join(t.dir, 'warden.yaml'), 'child: { stop_grace_s: soon }\n');
    w.proc.kill('SIGHUP');
    await waitFor('reload refused', async () => (await w.json('/status')).reload?.ok === false);
    await waitFor('the refusal in the log', () => w.output().includes('reload refused'), 3000);
    expect((await w.json('/status')).child.pid).toBe(pid);
    expect((await w.get('/readyz')).status).toBe(200);
    writeFileSync(join(t.dir, 'warden.yaml'), (await import('yaml')).stringify({ ...config, log: { level: 'debug' } }));
    w.proc.kill('SIGHUP');
    await waitFor('reload applied', async () => (await w.json('/status')).reload?.ok === true);
    expect((await w.get('/metrics')).body).toMatch(/warden_config_reloads_total\{result="applied",trigger="signal"\} 1/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await w.json('/status')).child.pid).toBe(pid);
  });
});
