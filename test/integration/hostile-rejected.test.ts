// Issue 15 item 5, a chunk the receiver keeps refusing: through the real `warden run`, with a
// child that hangs up on one record every time (test/fixtures/children/refuse-marked.mjs, as
// fluentd does with a message it cannot read), and with `warden sink` killed -9 again and again
// (a child dying mid-chunk is no refusal). Files must move on in the first case, lose nothing in
// the second.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeEntry } from '../../agent/forward/protocol.js';
import { fixture, logEntries, readNdjson, sleep, waitFor } from '../support/index.js';
import { controlLog, scopedFaultConfig, wardenConfig } from '../support/faults.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

const metric = (body: string, name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);

describe('a record the receiver keeps refusing', () => {
  it('is given up after forward.reject_limit refusals, counted and logged with its file and offsets; the rest of its chunk and every other file go on', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-rejected-');
    const out = join(t.dir, 'taken.ndjson');
    c.child = {
      ...c.child,
      command: [process.execPath, fixture('refuse-marked.mjs')],
      env: { PORT: String(c.fwdPort), OUT: out, REFUSE: 'REFUSE-ME' },
    };
    const poisoned = join(c.logs, 'd.log');
    const lines = ['before-1', 'before-2', 'before-3', 'REFUSE-ME: fluentd cannot read this one', 'after-1', 'after-2', 'after-3'];
    writeFileSync(poisoned, lines.map((l) => `${l}\n`).join(''));
    const size = Buffer.byteLength(readFileSync(poisoned));
    const control = controlLog(c.logs);

    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await control.append(10, 200);
    const logsOf = (tag: string) => readNdjson(out).filter((r) => r.tag === tag).map((r) => r.record.log as string);
    await waitFor('every line but the refused one', () => logsOf('host.d').length === 6 && logsOf('host.control').includes('control-10'), 20_000);
    expect(logsOf('host.d').sort()).toEqual(lines.filter((l) => !l.startsWith('REFUSE-ME')).sort());
    expect(logsOf('host.control').sort()).toEqual(control.lines(10).sort());

    const body = (await w.get('/metrics')).body;
    // Counted as the refused entry's encoded bytes: [EventTime, {log, host}].
    const refusedEntry = encodeEntry(0, 0, { log: lines[3]!, host: c.node_name }).byteLength;
    expect(metric(body, 'warden_bytes_lost_total{reason="rejected"}')).toBe(refusedEntry);
    // The receiver was never restarted for it: refusing is not crashing.
    expect(body).not.toMatch(/^warden_child_restarts_total\{[^}]*\} [1-9]/m);
    const given = logEntries(w.stdout()).filter((l) => /given up/.test(String(l.msg)));
    expect(given).toHaveLength(1);
    expect(given[0]).toMatchObject({ level: 'warn', tag: 'host.d', records: 1, strikes: 3, files: [{ path: poisoned, from: 0, to: size }] });
    // The file moved on: its checkpoint is at its end.
    await waitFor('d.log committed to its end', async () => {
      const files = (await w.json('/status')).files as Array<{ path: string; offset: number }>;
      return files.find((f) => f.path === poisoned)?.offset === size;
    }, 10_000);
    expect((await w.get('/readyz')).status).toBe(200);
  }, 60_000);
});

describe('a child killed in the middle of chunks', () => {
  it('is not refusing them: warden sink killed -9 six times while lines are written loses none, gives up none', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-rejected-');
    c.forward = { ...c.forward, reject_limit: 1, batch_max_records: 50 };
    c.child = { ...c.child, restart: { backoff_initial_ms: 50, backoff_max_ms: 200, stable_after_s: 1 } };
    const file = join(c.logs, 'busy.log');
    writeFileSync(file, '');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('the child ready', async () => (await w.get('/readyz').catch(() => ({ status: 0 }))).status === 200, 15_000);
    let n = 0;
    const writer = setInterval(() => {
      const batch: string[] = [];
      for (let i = 0; i < 40; i++) batch.push(`line-${n++} ${'x'.repeat(100)}\n`);
      appendFileSync(file, batch.join(''));
    }, 10);
    try {
      let last = 0;
      for (let kill = 0; kill < 6; kill++) {
        // Each child is killed once it is shipping: connected, acking, chunks in flight.
        const pid = await waitFor('a new child shipping', async () => {
          const s = await w.json('/status').catch(() => null);
          return s?.child?.state === 'ready' && s.forward.connected && s.child.pid !== last ? (s.child.pid as number) : null;
        }, 15_000);
        await sleep(100 + ((kill * 53) % 200));
        process.kill(pid, 'SIGKILL');
        last = pid;
      }
    } finally {
      clearInterval(writer);
    }
    const total = n;
    await waitFor(`all ${total} lines in the sink`, () => new Set(readNdjson(c.out).map((r) => r.record.log)).size === total, 30_000);
    // The lines may all be in before the last kill's restart is counted (its child starts after a backoff).
    await waitFor('the sixth restart counted', async () => metric((await w.get('/metrics')).body, 'warden_child_restarts_total{reason="signaled"}') === 6, 15_000);
    const body = (await w.get('/metrics')).body;
    expect(metric(body, 'warden_bytes_lost_total{reason="rejected"}')).toBe(0);
    expect(metric(body, 'warden_child_restarts_total{reason="signaled"}')).toBe(6);
    expect(logEntries(w.stdout()).filter((l) => /given up/.test(String(l.msg)))).toEqual([]);
  }, 60_000);
});
