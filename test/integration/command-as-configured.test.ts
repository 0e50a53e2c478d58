// Issue 15 item 4, run as a user runs warden (dist/warden.mjs): a secret passed through `${VAR}`
// into child.command and child.check_command reaches the programs, and never warden's log,
// /status or check-config's errors — not when a check fails, not when a program cannot be
// started, not when the config itself is refused. POD_NAME and POD_NAMESPACE are set as in the
// DaemonSet (the pod's own logs are then excluded, which builds the config anew).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { logEntries, waitFor, WARDEN } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';
import { scopedFaultConfig, wardenConfig } from '../support/faults.js';

const scope = wardenScope();

const SECRET = 'hunter2-xyz';
const POD_ENV = { SECRET, POD_NAME: 'warden-abcde', POD_NAMESPACE: 'logging' };

describe('a secret passed into the commands as ${SECRET}', () => {
  it('shows as ${SECRET} in /status, the log and check-config, through a failing check, a program not found and a refused config', async () => {
    const { t, c } = await scopedFaultConfig(scope, 'warden-secret-');
    const saw = join(t.dir, 'child-saw');
    // `sh -c SCRIPT $0 $1 …`: the secret is the shell's $0, written where the test can check that
    // the child got it, then the sink replaces the shell.
    // It also prints its argument and the shared key it was handed, as programs that echo their
    // configuration do: that output goes into warden's log with the references in place.
    const command = ['sh', '-c', 'echo "child argv0 $0 key [$WARDEN_FORWARD_SHARED_KEY]"; printf %s "$0" > "$1"; shift; exec "$@"', '${SECRET}', saw, process.execPath, WARDEN, 'sink', '--listen', c.forward.to, '--out', c.out];
    // A check that names its arguments in its verdict, as programs do.
    const failingCheck = ['sh', '-c', 'echo "unknown option $1 (token ${1#--token=})" >&2; exit 3', 'check', '--token=${SECRET}'];
    const missingCheck = ['/nonexistent-${SECRET}/check', '--token=${SECRET}'];
    const missingChild = ['/nonexistent-${SECRET}/fluentd', '--token', '${SECRET}'];
    const base = { ...wardenConfig(c), reload: { watch_interval_ms: 0 } };
    const cfgPath = join(t.dir, 'warden.yaml');
    const rewrite = (child: Record<string, unknown>) => writeFileSync(cfgPath, stringify({ ...base, child: { ...c.child, ...child } }));
    writeFileSync(join(c.logs, 'app.log'), 'hello\n');
    const w = (scope.running = spawnWarden(t.dir, { ...base, child: { ...c.child, command, check_command: failingCheck } }, { env: POD_ENV }));
    const bodies: string[] = [];
    const status = async () => {
      const r = await w.get('/status');
      bodies.push(r.body);
      return JSON.parse(r.body);
    };
    const refusals = async (n: number) => {
      w.proc.kill('SIGHUP');
      return waitFor(`reload refusal ${n}`, async () => {
        const metrics = (await w.get('/metrics')).body;
        bodies.push(metrics);
        // /status after /metrics: the count and the outcome are set together.
        return metrics.includes(`warden_config_reloads_total{result="refused",trigger="signal"} ${n}`) && (await status()).reload;
      }, 20_000);
    };

    await waitFor('a line delivered', () => existsSync(c.out) && readFileSync(c.out, 'utf8').includes('hello'), 30_000);
    expect(readFileSync(saw, 'utf8')).toBe(SECRET);
    await waitFor('the child printed its argument', () => w.output().includes('child argv0 '), 10_000);
    const echoed = logEntries(w.stdout()).find((l) => String(l.msg ?? '').startsWith('child argv0 '));
    expect(echoed?.msg).toMatch(/^child argv0 \$\{SECRET\} key \[(\$\{WARDEN_FORWARD_SHARED_KEY\})?\]$/);
    expect((await status()).child.command).toEqual(command);

    // The check command exits 3.
    const failed = await refusals(1);
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toContain(JSON.stringify(failingCheck));
    expect(failed.errors[0]).toContain('exited(3): unknown option --token=${SECRET} (token ${SECRET})');

    // The check command's program does not exist.
    rewrite({ command, check_command: missingCheck });
    const missing = await refusals(2);
    expect(missing.errors[0]).toContain(JSON.stringify(missingCheck));
    expect(missing.errors[0]).toContain('ENOENT');

    // A config without check_command runs no check: the one it replaces does not linger.
    rewrite({ command });
    w.proc.kill('SIGHUP');
    await waitFor('the config without a check applied', async () => (await status()).reload?.result === 'applied', 20_000);

    // An invalid config whose error quotes the value: as written, not expanded.
    rewrite({ command: 'fluentd --token ${SECRET}' });
    const invalid = await refusals(3);
    expect(invalid.errors.join('\n')).toContain('child.command:');
    expect(invalid.errors.join('\n')).toContain('"fluentd --token ${SECRET}"');
    const check = spawnSync(process.execPath, [WARDEN, 'check-config', '--config', cfgPath], { encoding: 'utf8', env: { ...process.env, ...POD_ENV }, timeout: 20_000 });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain('"fluentd --token ${SECRET}"');

    // The next start's program does not exist: start_failed, shown as configured.
    rewrite({ command: missingChild, check_command: ['true'] });
    w.proc.kill('SIGHUP');
    await waitFor('the new command applied', async () => (await status()).reload?.result === 'applied', 20_000);
    process.kill((await status()).child.pid, 'SIGKILL');
    await waitFor('the start that failed', () => logEntries(w.stdout()).some((l) => l.msg === 'child exited' && l.reason === 'start_failed(ENOENT)'), 20_000);
    expect((await status()).child.command).toEqual(missingChild);

    const started = logEntries(w.stdout()).filter((l) => l.msg === 'child started');
    expect(started.length).toBeGreaterThanOrEqual(1);
    expect(started[0]!.command).toEqual(command);
    expect(w.output()).toMatch(/reload refused: check command failed/);
    await w.stop();
    for (const [what, text] of [['the log', w.output()], ['/status and /metrics', bodies.join('\n')], ['check-config', check.stdout + check.stderr]]) {
      expect(text, what).not.toContain(SECRET);
      expect(text, what).not.toContain('hunter2');
    }
  }, 90_000);
});
