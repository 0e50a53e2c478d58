// Issue 7 item 4, a file made unreadable after discovery. Root ignores mode bits, so warden runs
// as nobody (uid/gid 65534) under setpriv here; the log files stay root-owned.
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor, logEntries, sinkLogs, sleep } from '../support/index.js';
import { wardenScope, spawnWarden } from '../support/warden.js';
import { hasCommand, wardenConfig, nobodyConfig } from '../support/faults.js';
import { skipNote } from '../support/skip.js';

const CAN_SETPRIV = process.getuid?.() === 0 && hasCommand('setpriv');
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

const scope = wardenScope();


/** Tail a root-owned file as nobody, make it 0600 after it was discovered and closed, grow it, make it readable again. */
async function unreadableScenario() {
  const t = tempDir('warden-unread-');
  scope.cleanup = t.cleanup;
  const c = await nobodyConfig(t.dir);
  // Close idle files fast, so the next growth needs a fresh open().
  c.tail.idle_close_s = 0.3;
  const secret = join(c.logs, 'turns-secret.log');
  const control = join(c.logs, 'control.log');
  writeFileSync(secret, 'u-1\n');
  writeFileSync(control, 'control-0\n');
  chmodSync(secret, 0o644);
  chmodSync(control, 0o644);
  scope.running = spawnWarden(t.dir, wardenConfig(c), { wrapper: AS_NOBODY });
  const w = scope.running;
  const logs = () => sinkLogs(c.out);
  await waitFor('first lines', () => logs().includes('u-1') && logs().includes('control-0'), 15000);
  await waitFor('the file closed while idle', async () => ((await w.json('/status')).files as any[]).some((f) => f.path === secret && f.state === 'idle'), 5000);
  chmodSync(secret, 0o600);
  appendFileSync(secret, 'u-2\n');
  for (let i = 1; i <= 5; i++) {
    await sleep(100);
    appendFileSync(control, `control-${i}\n`);
  }
  await waitFor('control keeps flowing', () => logs().includes('control-5'), 10000);
  const whileUnreadable = logs();
  const about = logEntries(w.stdout()).filter((l) => l.path === secret && l.level !== 'info' && l.level !== 'debug');
  chmodSync(secret, 0o644);
  await waitFor('its new line once readable again', () => logs().includes('u-2'), 10000);
  return { w, whileUnreadable, about, logs };
}

describe.skipIf(!CAN_SETPRIV)(`a file made unreadable after discovery (warden as uid 65534)${skipNote(CAN_SETPRIV ? null : 'needs root and setpriv')}`, () => {
  it('reopen fails with EACCES: no crash, other files keep flowing; readable again → its new line arrives', async () => {
    const { w, whileUnreadable, logs } = await unreadableScenario();
    expect(whileUnreadable).not.toContain('u-2');
    expect(w.proc.exitCode).toBeNull();
    expect(logs()).toContain('u-2');
    expect((await w.get('/readyz')).status).toBe(200);
  }, 30000);

  it('an EACCES on reopen is warned about once, naming the file and the errno', async () => {
    const { about } = await unreadableScenario();
    expect(about).toHaveLength(1);
    expect(about[0]).toMatchObject({ level: 'warn', code: 'EACCES' });
    expect(JSON.stringify(about[0])).toMatch(/EACCES|permission/i);
  }, 30000);

  // Invariant 1: the file keeps its committed offset while it cannot be opened, so lines acked
  // before the EACCES are not sent again once it is readable.
  it('after an EACCES the file keeps its offset: readable again, only its new line is sent', async () => {
    const { logs } = await unreadableScenario();
    expect(logs().filter((l) => l === 'u-1')).toHaveLength(1);
  }, 30000);
});
