// A ConfigMap edit takes effect without SIGHUP: the kubelet swaps the volume's `..data` symlink to
// a new timestamped directory, warden's poll sees new bytes behind the same path and reloads.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, readNdjson, tempDir, waitFor } from '../support/index.js';
import { spawnWarden, wardenScope } from '../support/warden.js';

const scope = wardenScope();

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** A ConfigMap volume as the kubelet lays it out: warden.yaml → ..data/warden.yaml, ..data → ..<ts>. */
function configMapVolume(dir: string) {
  const vol = join(dir, 'cm');
  mkdirSync(join(vol, '..2026_12_01_00_00_00.0'), { recursive: true });
  symlinkSync('..2026_12_01_00_00_00.0', join(vol, '..data'));
  symlinkSync('..data/warden.yaml', join(vol, 'warden.yaml'));
  let n = 0;
  return {
    vol,
    /** The kubelet's atomic update: a new directory, a temp link to it, renamed over `..data`. */
    update(text: string) {
      const ts = `..2026_12_01_00_00_0${++n}.0`;
      mkdirSync(join(vol, ts));
      writeFileSync(join(vol, ts, 'warden.yaml'), text);
      symlinkSync(ts, join(vol, '..data_tmp'));
      renameSync(join(vol, '..data_tmp'), join(vol, '..data'));
    },
  };
}

async function start() {
  const t = tempDir();
  scope.cleanup = t.cleanup;
  const [healthPort, fwdPort] = [await freePort(), await freePort()];
  for (const d of ['a', 'b']) mkdirSync(join(t.dir, 'logs', d), { recursive: true });
  const config = {
    node_name: 'test-node',
    state_dir: join(t.dir, 'state'),
    health: { listen: `127.0.0.1:${healthPort}` },
    reload: { watch_interval_ms: 100 },
    inputs: [{ name: 'a', paths: [join(t.dir, 'logs/a/*.log')], format: 'plain' }],
    tail: { read_from: 'head', roots: [join(t.dir, 'logs')], rescan_interval_ms: 200, checkpoint_interval_ms: 50 },
    forward: { to: `tcp://127.0.0.1:${fwdPort}`, flush_interval_ms: 20 },
    child: {
      command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', join(t.dir, 'out.ndjson')],
      stop_grace_s: 2,
    },
  };
  const cm = configMapVolume(t.dir);
  // spawnWarden writes <dir>/warden.yaml: through the volume's symlink, into the first ..<ts> dir.
  const w = (scope.running = spawnWarden(cm.vol, config));
  await waitFor('ready', async () => (await w.get('/readyz')).status === 200, 30_000);
  const out = join(t.dir, 'out.ndjson');
  const logs = (...lines: string[]) => readNdjson(out).filter((r) => lines.includes(r.record.log));
  return { t, w, cm, config, logs, initial: stringify(config) };
}

describe('config file watch (ConfigMap-style symlink swap)', () => {
  it('applies an edit without SIGHUP: new hash in /status, the new input tailed, restart-only keys kept and named', async () => {
    const { t, w, cm, config, logs, initial } = await start();
    const before = await w.json('/status');
    expect(before.config_hash).toBe(hash(initial));
    const pid = before.child.pid;

    const edited = stringify({
      ...config,
      inputs: [...config.inputs, { name: 'b', paths: [join(t.dir, 'logs/b/*.log')], format: 'plain' }],
      // Cannot change under a running warden: kept, and said so.
      forward: { ...config.forward, to: `tcp://127.0.0.1:${await freePort()}` },
    });
    cm.update(edited);
    const st = await waitFor('the edit applied', async () => {
      const s = await w.json('/status');
      return s.config_hash === hash(edited) ? s : null;
    }, 20_000);
    expect(st.reload).toMatchObject({ ok: true, result: 'applied', trigger: 'watch', hash: hash(edited), restart_needed: ['forward.to'] });
    // /status can answer before the log line has come through warden's stdout pipe.
    await waitFor('forward.to named as restart-only in the log', () => /"key":"forward.to".*only a restart of warden applies it/.test(w.output()), 5000);
    expect((await w.get('/metrics')).body).toMatch(/warden_config_reloads_total\{result="applied",trigger="watch"\} 1/);

    // Behaviour: the new input is tailed, over the Forward connection still in force.
    appendFileSync(join(t.dir, 'logs/b/new.log'), 'from the new input\n');
    await waitFor('a line from the added input', () => logs('from the new input').length === 1, 20_000);
    expect(st.forward.to).toBe(config.forward.to);
    expect((await w.json('/status')).child.pid).toBe(pid);
  });

  it('refuses a bad edit with a reason per error and keeps the running config', async () => {
    const { t, w, cm, logs, initial } = await start();
    cm.update('tail:\n  read_frm: head\nchild:\n  stop_grace_s: soon\n');
    const st = await waitFor('the edit refused', async () => {
      const s = await w.json('/status');
      return s.reload?.result === 'refused' ? s : null;
    }, 20_000);
    expect(st.reload.trigger).toBe('watch');
    expect(st.reload.errors.join('\n')).toMatch(/tail\.read_frm: unknown key; did you mean tail\.read_from\?/);
    expect(st.reload.errors.join('\n')).toMatch(/child\.stop_grace_s:/);
    expect(st.config_hash).toBe(hash(initial));
    await waitFor('both errors logged', () => (w.output().match(/reload refused: invalid configuration/g) ?? []).length === 2, 5000);
    expect((await w.get('/metrics')).body).toMatch(/warden_config_reloads_total\{result="refused",trigger="watch"\} 1/);
    expect((await w.get('/readyz')).status).toBe(200);

    // The running config still ships its input, and the same bad bytes are not retried in a loop.
    appendFileSync(join(t.dir, 'logs/a/app.log'), 'after the refusal\n');
    await waitFor('the old input still shipped', () => logs('after the refusal').length === 1, 20_000);
    expect((await w.get('/metrics')).body).toMatch(/warden_config_reloads_total\{result="refused",trigger="watch"\} 1/);

    // Swapping back to the running bytes reloads nothing.
    cm.update(initial);
    await waitFor('unchanged', async () => (await w.json('/status')).reload?.result === 'unchanged', 20_000);
  });
});
