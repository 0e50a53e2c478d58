// Issue 15 items 1–3: escapes out of tail.roots and state_dir, tried against the real binary with
// `warden sink` as its child. The "outside" is a directory in the temp tree holding a marker
// secret (never the real /etc); every test asserts that no record carries it.
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../agent/tail/identity.js';
import { spawnSync } from 'node:child_process';
import { stringify } from 'yaml';
import { tempDir, waitFor, WARDEN, logEntries, readNdjson, sleep } from '../support/index.js';
import { wardenScope, spawnWarden } from '../support/warden.js';
import { faultConfig, hasCommand, nobodyConfig, wardenConfig } from '../support/faults.js';
import { skipNote } from '../support/skip.js';

const scope = wardenScope();
const SECRET = 'SECRET-MARKER-do-not-ship';

/** A temp tree with `logs/` (the root) and `outside/` beside it holding secret files. */
async function setup() {
  const t = tempDir('warden-escape-');
  scope.cleanup = t.cleanup;
  const c = await faultConfig(t.dir);
  const outside = join(t.dir, 'outside');
  mkdirSync(join(outside, 'app'), { recursive: true });
  writeFileSync(join(outside, 'app', '0.log'), `${SECRET}-app\n`);
  writeFileSync(join(outside, 'secret.log'), `${SECRET}-file\n`);
  return { t, c, outside };
}

const shipped = (out: string) => readNdjson(out).map((r) => String(r.record.log));
const leaked = (out: string) => shipped(out).filter((l) => l.includes('SECRET'));

async function refusedCount(w: { get: (p: string) => Promise<{ body: string }> }, reason = 'outside_roots'): Promise<number> {
  const m = new RegExp(`warden_tail_refused_total\\{reason="${reason}"\\} (\\d+)`).exec((await w.get('/metrics')).body);
  return m ? Number(m[1]) : 0;
}

/** The control line arrived, the outside path was refused (counted), and nothing of it was shipped. */
async function controlShippedOutsideRefused(out: string, w: { get: (p: string) => Promise<{ body: string }> }): Promise<void> {
  await waitFor('control line', () => shipped(out).includes('control-0'), 15000);
  await waitFor('the refusal counted', async () => (await refusedCount(w)) >= 1, 10000);
  expect(leaked(out)).toEqual([]);
}

const warnings = (stdout: string, reason: string) =>
  logEntries(stdout).filter((l) => l.reason === reason && l.level === 'warn');

/**
 * warden over a pod directory `logs/pods/ns_pod_uid` (the input is its three levels of `*.log`) whose line
 * `inside-1` it has shipped; then the directory is moved to `<pod>.old` and a symlink to `target`
 * put in its place.
 */
async function podSwappedFor(t: { dir: string }, c: Awaited<ReturnType<typeof faultConfig>>, target: string) {
  const pods = join(c.logs, 'pods');
  const pod = join(pods, 'ns_pod_uid');
  mkdirSync(join(pod, 'app'), { recursive: true });
  writeFileSync(join(pod, 'app', '0.log'), 'inside-1\n');
  c.inputs = [{ name: 'pods', paths: [join(pods, '*/*/*.log')], format: 'plain' }];
  scope.running = spawnWarden(t.dir, wardenConfig(c));
  await waitFor('the pod line', () => shipped(c.out).includes('inside-1'), 15000);
  renameSync(pod, `${pod}.old`);
  symlinkSync(target, pod);
  return { w: scope.running, pod };
}

/** `n` rescan intervals of `c`: a window for what must not happen however often the tree is walked. */
const rescans = (c: Awaited<ReturnType<typeof faultConfig>>, n: number) => sleep(n * Number(c.tail.rescan_interval_ms));

describe('no escape out of tail.roots (issue 15 item 1)', () => {
  it('a shipped pod directory swapped for a symlink to outside: nothing from outside arrives, the refusal is counted and logged', async () => {
    const { t, c, outside } = await setup();
    const { w, pod } = await podSwappedFor(t, c, outside);
    // Activity on both sides: the moved file grows, and so does outside, where a new file appears.
    // Events name paths by the watched directory's old path, and a rescan walks it again through
    // the symlink: `pods/ns_pod_uid/app/<new>.log` is a path inside the roots by its string only.
    for (let i = 2; i <= 6; i++) {
      appendFileSync(join(`${pod}.old`, 'app', '0.log'), `inside-${i}\n`);
      appendFileSync(join(outside, 'app', '0.log'), `${SECRET}-app-${i}\n`);
      writeFileSync(join(outside, 'app', `${i}.log`), `${SECRET}-new-${i}\n`);
      await sleep(150);
    }
    await waitFor('the moved file keeps shipping', () => shipped(c.out).includes('inside-6'), 15000);
    await rescans(c, 5);
    expect(leaked(c.out)).toEqual([]);
    await waitFor('the refusal counted', async () => (await refusedCount(w)) >= 1, 10000);
    const said = warnings(w.stdout(), 'outside_roots');
    expect(said.length).toBeGreaterThanOrEqual(1);
    expect(said.some((l) => String(l.target ?? '').startsWith(outside))).toBe(true);
    expect(w.proc.exitCode).toBeNull();
  }, 40000);

  it('a glob prefix that is a symlink to outside is neither walked nor shipped', async () => {
    const { t, c, outside } = await setup();
    const link = join(c.logs, 'linked');
    symlinkSync(outside, link);
    writeFileSync(join(c.logs, 'control.log'), 'control-0\n');
    c.inputs = [
      { name: 'host', paths: [join(c.logs, '*.log')], format: 'plain' },
      { name: 'linked', paths: [join(link, '*.log')], format: 'plain' },
    ];
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await controlShippedOutsideRefused(c.out, w);
  }, 30000);
  it('a pod directory swapped for a symlink to a directory of another layout (as /etc): refused, counted and logged at the walk', async () => {
    const { t, c } = await setup();
    // Nothing under it matches `*/*.log` by the path through the link: only the walk meets the link.
    const etc = join(t.dir, 'etc-like');
    mkdirSync(join(etc, 'ssl'), { recursive: true });
    writeFileSync(join(etc, 'passwd'), `${SECRET}-passwd\n`);
    writeFileSync(join(etc, 'ssl', 'openssl.cnf'), `${SECRET}-cnf\n`);
    const { w, pod } = await podSwappedFor(t, c, etc);
    await waitFor('the refusal counted', async () => (await refusedCount(w)) >= 1, 10000);
    const said = warnings(w.stdout(), 'outside_roots');
    expect(said.some((l) => l.path === pod && l.target === etc)).toBe(true);
    await rescans(c, 3); // said once, counted once
    expect(said.length).toBe(warnings(w.stdout(), 'outside_roots').length);
    expect(await refusedCount(w)).toBe(1);
    expect(leaked(c.out)).toEqual([]);
  }, 40000);
});

describe('a root is what it resolves to (issue 15 items 1 and 3)', () => {
  it('a root, or a glob prefix that is its own root, resolving to / through a symlink: check-config and run exit 2 naming the key', async () => {
    const { t, c } = await setup();
    const slash = join(c.logs, 'slash');
    symlinkSync('/', slash);
    const path = join(t.dir, 'warden.yaml');
    const viaRoot = { ...wardenConfig(c), tail: { ...c.tail, roots: [slash] }, inputs: [{ name: 'etc', paths: [join(slash, 'etc', 'host*')], format: 'plain' }] };
    const viaPrefix = { ...wardenConfig(c), tail: { ...c.tail, roots: undefined }, inputs: [{ name: 'all', paths: [join(slash, '**', 'shadow')], format: 'plain' }] };
    for (const [key, config] of [['tail.roots[0]', viaRoot], ['inputs[0].paths[0]', viaPrefix]] as const) {
      writeFileSync(path, stringify(config));
      for (const cmd of ['check-config', 'run']) {
        const r = spawnSync(process.execPath, [WARDEN, cmd, '--config', path], { encoding: 'utf8', timeout: 20000 });
        expect(r.status, `${cmd} ${key}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${key}: ${slash} resolves to / (the whole file system)`);
      }
    }
  }, 60000);

  it('a root missing at start and later created as a symlink out: still refused after a reload, and a reload to / is refused', async () => {
    const { t, c, outside } = await setup();
    const late = join(c.logs, 'late');
    const ctl = join(c.logs, 'ctl');
    mkdirSync(ctl);
    writeFileSync(join(ctl, 'control.log'), 'control-0\n');
    const roots = [ctl, late];
    c.tail.roots = roots;
    c.inputs = [
      { name: 'host', paths: [join(ctl, '*.log')], format: 'plain' },
      { name: 'late', paths: [join(late, '*.log')], format: 'plain' },
    ];
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('control line', () => shipped(c.out).includes('control-0'), 15000);
    symlinkSync(outside, late);
    writeFileSync(join(t.dir, 'warden.yaml'), stringify({ ...wardenConfig(c), log: { level: 'debug' } }));
    w.proc.kill('SIGHUP');
    await waitFor('reload applied', async () => (await w.json('/status')).reload?.ok === true, 10000);
    appendFileSync(join(ctl, 'control.log'), 'control-1\n');
    await waitFor('control line after the reload', () => shipped(c.out).includes('control-1'), 15000);
    await waitFor('the refusal counted', async () => (await refusedCount(w)) >= 1, 10000);
    expect(leaked(c.out)).toEqual([]);
    const slash = join(c.logs, 'slash');
    symlinkSync('/', slash);
    writeFileSync(join(t.dir, 'warden.yaml'), stringify({ ...wardenConfig(c), tail: { ...c.tail, roots: [...roots, slash] } }));
    w.proc.kill('SIGHUP');
    await waitFor('reload refused', async () => (await w.json('/status')).reload?.ok === false, 10000);
    expect(JSON.stringify((await w.json('/status')).reload)).toContain(`tail.roots[2]: ${slash} resolves to /`);
    expect(leaked(c.out)).toEqual([]);
  }, 60000);
});

describe('state_dir is not turned against warden (issue 15 item 2)', () => {
  it('a checkpoint entry naming a file outside the roots (its real dev/ino/fingerprint) is not recovered', async () => {
    const { t, c, outside } = await setup();
    const secret = join(outside, 'secret.log');
    const st = statSync(secret);
    const body = readFileSync(secret);
    writeFileSync(join(c.logs, 'control.log'), 'control-0\n');
    mkdirSync(c.state_dir, { recursive: true });
    const fp = fingerprintOf(body.subarray(0, 1024));
    const crafted = { dev: st.dev, ino: st.ino, fp: fp.fp, fp_len: fp.fpLen, path: join(c.logs, 'gone.log'), real_path: secret, input: 'host', offset: 0, updated: new Date().toISOString() };
    writeFileSync(join(c.state_dir, 'checkpoints.json'), JSON.stringify({ version: 1, files: [crafted] }));
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await controlShippedOutsideRefused(c.out, w);
    expect(warnings(w.stdout(), 'outside_roots').length).toBeGreaterThanOrEqual(1);
  }, 30000);

  it('checkpoints.json.tmp as a symlink to a file outside state_dir: the file is not written, checkpoints still are', async () => {
    const { t, c, outside } = await setup();
    const victim = join(outside, 'victim.txt');
    writeFileSync(victim, 'untouched\n');
    mkdirSync(c.state_dir, { recursive: true });
    // A good main file: the temp file is not read at start (that would move it aside), only written.
    writeFileSync(join(c.state_dir, 'checkpoints.json'), JSON.stringify({ version: 1, files: [] }));
    symlinkSync(victim, join(c.state_dir, 'checkpoints.json.tmp'));
    writeFileSync(join(c.logs, 'control.log'), 'control-0\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    await waitFor('control line', () => shipped(c.out).includes('control-0'), 15000);
    await waitFor('a checkpoint written', () => existsSync(join(c.state_dir, 'checkpoints.json')) && readFileSync(join(c.state_dir, 'checkpoints.json'), 'utf8').includes('control.log'), 10000);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
  }, 30000);

  it('checkpoints.json as a symlink to a secret: never read, nothing of it in the log, kept aside', async () => {
    const { t, c, outside } = await setup();
    mkdirSync(c.state_dir, { recursive: true });
    symlinkSync(join(outside, 'secret.log'), join(c.state_dir, 'checkpoints.json'));
    writeFileSync(join(c.logs, 'control.log'), 'control-0\n');
    scope.running = spawnWarden(t.dir, wardenConfig(c));
    const w = scope.running;
    await waitFor('control line', () => shipped(c.out).includes('control-0'), 15000);
    expect(w.output()).not.toContain('SECRET');
    expect(readFileSync(join(outside, 'secret.log'), 'utf8')).toBe(`${SECRET}-file\n`);
    const said = logEntries(w.stdout()).filter((l) => l.file === join(c.state_dir, 'checkpoints.json') && l.level === 'warn');
    expect(said).toHaveLength(1);
    expect(String(said[0]!.msg)).toMatch(/not a regular file|symlink/);
  }, 30000);
});

const CAN_SETPRIV = process.getuid?.() === 0 && hasCommand('setpriv');
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

describe.skipIf(!CAN_SETPRIV)(`discovery stays inside the roots (issue 15 item 3; warden as uid 65534)${skipNote(CAN_SETPRIV ? null : 'needs root and setpriv')}`, () => {
  // Root lists any directory, so the walk is observed as nobody: a directory nobody cannot list
  // is warned about when entered, and said nothing about when pruned.
  it('tail.exclude prunes the walk: an excluded directory is not entered', async () => {
    const t = tempDir('warden-escape-');
    scope.cleanup = t.cleanup;
    const c = await nobodyConfig(t.dir);
    mkdirSync(join(c.logs, 'keep'), { recursive: true });
    mkdirSync(join(c.logs, 'skip', 'locked'), { recursive: true });
    writeFileSync(join(c.logs, 'keep', 'a.log'), 'keep-0\n');
    chmodSync(join(c.logs, 'keep', 'a.log'), 0o644);
    chmodSync(join(c.logs, 'skip', 'locked'), 0o700);
    c.inputs = [{ name: 'host', paths: [join(c.logs, '**/*.log')], format: 'plain' }];
    c.tail.exclude = [join(c.logs, 'skip')];
    scope.running = spawnWarden(t.dir, wardenConfig(c), { wrapper: AS_NOBODY });
    const w = scope.running;
    await waitFor('kept line', () => shipped(c.out).includes('keep-0'), 15000);
    await sleep(600);
    const entered = logEntries(w.stdout()).filter((l) => String(l.dir ?? '').startsWith(join(c.logs, 'skip')));
    expect(entered).toEqual([]);
    expect(w.proc.exitCode).toBeNull();
  }, 30000);
});

describe('check-config refuses what run could not do safely (issue 15 items 3 and 13)', () => {
  const checkConfig = (dir: string, config: Record<string, unknown>) => {
    const path = join(dir, 'warden.yaml');
    writeFileSync(path, stringify(config));
    return spawnSync(process.execPath, [WARDEN, 'check-config', '--config', path], { encoding: 'utf8', timeout: 20000 });
  };

  it('a glob over the whole file system, a port out of range, /dev/zero: exit 2 naming the key or file', async () => {
    const { t, c } = await setup();
    const all = checkConfig(t.dir, { ...wardenConfig(c), inputs: [{ name: 'all', paths: ['/**/*'] }] });
    expect(all.status).toBe(2);
    expect(all.stdout + all.stderr).toContain('inputs[0].paths[0]');
    const port = checkConfig(t.dir, { ...wardenConfig(c), forward: { to: 'tcp://127.0.0.1:99999' } });
    expect(port.status).toBe(2);
    expect(port.stdout + port.stderr).toContain('forward.to: port must be 1–65535 (got "tcp://127.0.0.1:99999")');
    const zero = spawnSync(process.execPath, [WARDEN, 'check-config', '--config', '/dev/zero'], { encoding: 'utf8', timeout: 20000 });
    expect(zero.status).toBe(2);
    expect(zero.stdout + zero.stderr).toContain('/dev/zero is not a regular file');
  }, 60000);
});
