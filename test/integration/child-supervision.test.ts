// Issue 15 items 4, 9, 14 and 15, run as a user runs warden (dist/warden.mjs, `npm run build`):
// what /status and the log show of the child's command, a child flooding its stdout, and
// descendants of the child that try to outlive it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor, wardenScope } from './harness.js';
import { faultConfig, logLines, startWardenWrapped, wardenConfig } from '../fixtures/faults/helpers.js';

const scope = wardenScope();

describe('the command as configured', () => {
  it('a ${VAR} in child.command shows unexpanded in /status and in "child started"; the child gets the value', async () => {
    const t = tempDir('warden-sup-');
    scope.cleanup = t.cleanup;
    const c = await faultConfig(t.dir);
    const SECRET = 'tok-5d2f9a0c77e1';
    const out = join(t.dir, `out-${SECRET}.ndjson`);
    c.child.command = ['warden', 'sink', '--listen', c.forward.to, '--out', '${WARDEN_TEST_SINK_OUT}'];
    writeFileSync(join(c.logs, 'app.log'), 'hello\n');
    scope.running = startWardenWrapped(t.dir, wardenConfig(c), { env: { WARDEN_TEST_SINK_OUT: out } });
    const w = scope.running;
    // The child did get the expanded value: it writes where the variable says.
    await waitFor('a line delivered', () => existsSync(out) && readFileSync(out, 'utf8').includes('hello'), 20_000);
    const status = await w.json('/status');
    expect(status.child.command).toEqual(['warden', 'sink', '--listen', c.forward.to, '--out', '${WARDEN_TEST_SINK_OUT}']);
    expect(JSON.stringify(status)).not.toContain(SECRET);
    const started = logLines(w.stdout()).find((l) => typeof l === 'object' && l.msg === 'child started') as Record<string, any>;
    expect(started.command).toEqual(status.child.command);
    expect(JSON.stringify(started)).not.toContain(SECRET);
  }, 40_000);
});
