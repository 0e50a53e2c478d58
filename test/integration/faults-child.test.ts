// Issue 7 item 3, the child's world: a child binary that is missing or not executable is a
// `start_failed` with the errno, retried with backoff (no hot loop); a Forward port held by a
// process that never speaks Forward must never make warden report ready.
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor, readNdjson, sleep } from '../support/index.js';
import { type RunningWarden, wardenScope, spawnWarden } from '../support/warden.js';
import { faultConfig, wardenConfig } from '../support/faults.js';
import { parseMetrics } from '../../scripts/bench/warden.js';

const scope = wardenScope<RunningWarden>();
let squatter: Server | undefined;

async function startFails(program: (dir: string) => string, errno: string): Promise<void> {
  const t = tempDir('warden-child-');
  scope.cleanup = t.cleanup;
  const c = await faultConfig(t.dir);
  const path = program(t.dir);
  c.child.command = [path, '-c', '/etc/fluent/fluent.conf'];
  scope.running = spawnWarden(t.dir, wardenConfig(c));
  const w = scope.running;
  const st = await waitFor(`start_failed(${errno}) in /status`, async () => {
    const s = await w.json('/status');
    return s.child.last_exit?.reason === `start_failed(${errno})` ? s : null;
  }, 10000);
  expect(st.child.last_exit.kind).toBe('start_failed');
  expect(st.child.pid).toBeNull();
  const ready = await w.get('/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body).toContain(`start_failed(${errno})`);
  // An error line naming the program and the errno.
  const name = path.split('/').pop()!;
  const line = w.output().split('\n').find((l) => l.includes(`start_failed(${errno})`) && l.includes(name));
  expect(line, `a log line naming ${name} and ${errno}`).toBeDefined();
  expect(JSON.parse(line!).level).toBe('error');
  // No hot loop: backoff 100 ms doubling to 1 s allows about ten attempts in 3 s, not hundreds.
  // Failed spawns are not starts; they are counted as restarts with reason start_failed.
  const attempts = async () => parseMetrics((await w.get('/metrics')).body).get('warden_child_restarts_total{reason="start_failed"}') ?? 0;
  const before = await attempts();
  await sleep(3000);
  const after = await attempts();
  expect(after - before).toBeGreaterThanOrEqual(1);
  expect(after - before).toBeLessThanOrEqual(10);
  expect((await w.get('/healthz')).status).toBe(200);
  expect(w.proc.exitCode).toBeNull();
}

describe('child binary faults', () => {
  it('missing binary: start_failed(ENOENT), clear log line, retried with backoff, no hot loop', async () => {
    await startFails((dir) => join(dir, 'no-such-fluentd'), 'ENOENT');
  }, 30000);

  it('binary not executable (mode 0644): start_failed(EACCES), clear log line, no hot loop', async () => {
    await startFails((dir) => {
      const p = join(dir, 'fluentd-not-exec');
      writeFileSync(p, '#!/bin/sh\nexit 0\n');
      chmodSync(p, 0o644);
      return p;
    }, 'EACCES');
  }, 30000);
});

describe('Forward port taken by another process', () => {
  it('a silent TCP server holds forward.to: the sink child cannot bind, warden never reports ready, lines wait in the file', async () => {
    const t = tempDir('warden-child-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    const held: Socket[] = [];
    scope.deferred.push(async () => {
      if (squatter) await new Promise((r) => squatter!.close(r));
      squatter = undefined;
    });
    squatter = createServer((s) => {
      held.push(s);
      s.on('data', () => {});
      s.on('error', () => {});
    });
    await new Promise<void>((r) => squatter!.listen(c.fwdPort, '127.0.0.1', () => r()));
    c.child.hang_timeout_s = 2;
    c.forward.connect_timeout_ms = 500;
    writeFileSync(join(c.logs, 'app.log'), 'waiting-1\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('the health server', async () => (await w.get('/healthz')).status === 200, 10000);
    // Watch readiness for a while: it must never be fooled by a port that accepts connections.
    const seen = new Set<number>();
    const reasons = new Set<string>();
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      const r = await w.get('/readyz');
      seen.add(r.status);
      if (r.status === 503) for (const x of JSON.parse(r.body).reasons as string[]) reasons.add(x.replace(/\d+/g, 'N'));
      await sleep(100);
    }
    expect([...seen]).toEqual([503]);
    const st = await w.json('/status');
    expect(st.child.restarts).toBeGreaterThanOrEqual(1);
    expect(st.forward.connected).toBe(false);
    // The sink's own complaint reaches warden's log.
    expect(w.output()).toMatch(/EADDRINUSE/);
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(readNdjson(c.out)).toEqual([]);
    // Once the squatter goes, the child binds and the waiting line arrives.
    await new Promise((r) => {
      for (const s of held) s.destroy();
      squatter!.close(r);
    });
    squatter = undefined;
    // The Forward client backs off (up to 10 s) after the handshakes the squatter never answered.
    await waitFor('ready after the port is freed', async () => (await w.get('/readyz')).status === 200, 20000);
    await waitFor('the waiting line', () => readNdjson(c.out).some((r) => r.record.log === 'waiting-1'), 10000);
    console.log('port taken: readiness reasons seen:', [...reasons]);
  }, 40000);
});
