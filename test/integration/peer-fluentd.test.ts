// warden as users run it with a real fluentd as the child: the shipped warden.yaml and fluent.conf
// (paths and ports moved into a temp dir, fluentd's output a file instead of `null`), for each
// fluentd named in $WARDEN_TEST_FLUENTD (comma-separated commands, e.g.
// `/usr/local/bin/fluentd,/usr/local/bin/fluentd-1.18`) and both ways of running it: as shipped
// (`--no-supervisor`, warden is the supervisor) and with fluentd's own supervisor. CI has no
// fluentd, so there these are skipped (the README's "Quick start" says how to run them).
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, WARDEN, alive, freePort, groupAlive, sinkLogs, skipNote, tempDir, waitFor } from '../support/index.js';
import { startWarden, wardenScope } from '../support/warden.js';
import { sleep } from '../../scripts/lib/util.js';
import { metricSum, parseMetrics } from '../../scripts/bench/warden.js';
import { shippedFluentConf } from '../../scripts/bench/pod/config.js';

const scope = wardenScope();
const FLUENTDS = (process.env.WARDEN_TEST_FLUENTD ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const SLOW = 90_000;

/** The shipped fluent.conf with its port, buffer and output moved; throws when its shape changed. */
function fluentConf(port: number, dir: string, extra = '', perTag = false): string {
  let text = readFileSync(join(ROOT, 'deploy/docker/fluent.conf'), 'utf8');
  const swap = (from: string, to: string) => {
    if (!text.includes(from)) throw new Error(`deploy/docker/fluent.conf no longer has ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  };
  swap('port 24224', `port ${port}`);
  swap('path /var/lib/warden/fluentd-buffer', `path ${join(dir, 'fluentd-buffer')}`);
  swap('<match **>\n  @type null\n', `${extra}<match **>\n  @type file\n  path ${join(dir, 'out', perTag ? '${tag}' : 'records')}\n  append true\n  <format>\n    @type json\n  </format>\n`);
  // out_file chunks by time; the usual outputs (forward, elasticsearch, …) chunk by tag.
  if (perTag) swap('  <buffer>\n', '  <buffer tag>\n');
  return text;
}

/** The shipped warden.yaml with this test's paths and ports, and `fluentd` as given. */
function wardenYaml(dir: string, fluentd: string, supervised: boolean, fwdPort: number, healthPort: number): Record<string, any> {
  const c = parse(readFileSync(join(ROOT, 'deploy/docker/warden.yaml'), 'utf8'));
  const conf = join(dir, 'fluent.conf');
  c.node_name = 'peer-node';
  c.state_dir = join(dir, 'state');
  c.health = { listen: `127.0.0.1:${healthPort}` };
  c.reload = { ...c.reload, watch_also: [conf] };
  c.inputs = [{ name: 'docker', paths: [join(dir, 'logs', '*', '*-json.log')], format: 'docker' }];
  c.tail = { ...c.tail, read_from: 'head', roots: [join(dir, 'logs')] };
  c.forward = { ...c.forward, to: `tcp://127.0.0.1:${fwdPort}` };
  const args = (c.child.command as string[]).slice(1).filter((a) => supervised ? a !== '--no-supervisor' : true);
  c.child.command = [fluentd, ...args.map((a) => (a === '/etc/fluent/fluent.conf' ? conf : a))];
  c.child.check_command = [fluentd, ...(c.child.check_command as string[]).slice(1).map((a) => (a === '/etc/fluent/fluent.conf' ? conf : a))];
  return c;
}

/** True where SIGUSR2 to fluentd's supervisor is a zero-downtime restart (fluentd ≥ 1.18), read from `fluentd --version`. */
function restartsOnReload(fluentd: string): boolean {
  const m = /fluentd (\d+)\.(\d+)/.exec(execFileSync(fluentd, ['--version'], { encoding: 'utf8' }));
  if (!m) throw new Error(`${fluentd} --version: no version`);
  return Number(m[1]) > 1 || Number(m[2]) >= 18;
}

/** `n` Docker json-file lines `<prefix>-<i>`. */
function dockerLines(prefix: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${JSON.stringify({ log: `${prefix}-${i}\n`, stream: 'stdout', time: '2026-12-06T04:00:00.000000000Z' })}\n`;
  return s;
}

interface Out {
  log: string;
  gen?: string;
}

/** Every record fluentd's file output has written so far. */
function delivered(dir: string): Out[] {
  const out = join(dir, 'out');
  if (!existsSync(out)) return [];
  const rows: Out[] = [];
  for (const f of readdirSync(out)) {
    for (const line of readFileSync(join(out, f), 'utf8').split('\n')) if (line) rows.push(JSON.parse(line) as Out);
  }
  return rows;
}

/** Waits until every one of `prefix-0 … prefix-(n-1)` is in fluentd's output; returns their records. */
async function allDelivered(dir: string, prefix: string, n: number): Promise<Out[]> {
  return waitFor(`${n} ${prefix} lines in fluentd's output`, () => {
    const mine = delivered(dir).filter((r) => r.log.startsWith(`${prefix}-`));
    return new Set(mine.map((r) => r.log)).size === n && mine;
  }, SLOW, 200);
}

/** A temp dir for one case (removed after it) and two free ports: fluentd's in_forward and warden's health. */
async function peerCase(prefix: string): Promise<{ dir: string; fwdPort: number; healthPort: number }> {
  const t = tempDir(prefix);
  scope.cleanup = t.cleanup;
  return { dir: t.dir, fwdPort: await freePort(), healthPort: await freePort() };
}

const modes = [
  { name: 'as shipped (--no-supervisor)', supervised: false },
  { name: "with fluentd's own supervisor", supervised: true },
];

describe.each(FLUENTDS.length > 0 ? FLUENTDS : ['fluentd'])(`warden with a real fluentd child: %s${skipNote(FLUENTDS.length > 0 ? null : '$WARDEN_TEST_FLUENTD names no fluentd (comma-separated commands)')}`, (fluentd) => {
  describe.each(modes)('$name', ({ supervised }) => {
    it.skipIf(FLUENTDS.length === 0)('ships every line, applies a fluent.conf edit in place, survives kill -9 of fluentd, stops cleanly and loses nothing across the stop', { timeout: 6 * SLOW }, async () => {
      const { dir, fwdPort, healthPort } = await peerCase('warden-peer-');
      const file = join(dir, 'logs', 'c1', 'c1-json.log');
      mkdirSync(join(dir, 'logs', 'c1'), { recursive: true });
      writeFileSync(file, dockerLines('before', 500));
      writeFileSync(join(dir, 'fluent.conf'), fluentConf(fwdPort, dir));
      const w = (scope.running = await startWarden(dir, wardenYaml(dir, fluentd, supervised, fwdPort, healthPort)));
      await waitFor('ready', async () => (await w.get('/readyz').catch(() => ({ status: 0 }))).status === 200, SLOW, 200);
      const first = (await w.json('/status')).child.pid as number;
      expect((await allDelivered(dir, 'before', 500)).every((r) => r.gen === undefined)).toBe(true);

      // A fluent.conf edit (what a ConfigMap change is): checked, then reload_signal to the child.
      writeFileSync(join(dir, 'fluent.conf'), fluentConf(fwdPort, dir, '<filter **>\n  @type record_transformer\n  <record>\n    gen "2"\n  </record>\n</filter>\n\n'));
      await waitFor('the reload applied', async () => (await w.json('/status')).reload?.result === 'applied', SLOW, 200);
      // fluentd takes the new config some time after the signal: lines written from now on are
      // all delivered, the last of them through the new filter.
      let k = 0;
      await waitFor('records through the new filter', () => {
        appendFileSync(file, dockerLines(`during${k++}`, 1));
        return delivered(dir).some((r) => r.gen === '2');
      }, SLOW, 500);
      for (let i = 0; i < k; i++) await allDelivered(dir, `during${i}`, 1);
      const reloaded = await w.json('/status');
      expect(reloaded.child).toMatchObject({ state: 'ready', restarts: 0, last_exit: null });
      // fluentd 1.18's supervisor restarts itself on SIGUSR2 (a new supervisor, the old exits):
      // warden follows the new one. Without a supervisor, or before 1.18, fluentd reloads in place.
      const handedOver = supervised && restartsOnReload(fluentd);
      expect(reloaded.child.pid !== first).toBe(handedOver);
      if (handedOver) expect(alive(first)).toBe(false);
      expect(w.stdout()).not.toContain('"msg":"child exited"');

      // kill -9 of fluentd: a crash, restarted; lines written while it is down are shipped after.
      const victim = reloaded.child.pid as number;
      process.kill(victim, 'SIGKILL');
      appendFileSync(file, dockerLines('down', 300));
      await waitFor('restarted', async () => (await w.json('/status')).child.restarts >= 1, SLOW, 200);
      const crashed = await w.json('/status');
      // A successor that fluentd's supervisor started is not warden's own child: no exit status, `vanished`.
      expect(crashed.child.last_exit).toMatchObject({ reason: victim === first ? 'signaled(SIGKILL)' : 'vanished' });
      await waitFor("the killed fluentd's group cleared", () => !groupAlive(victim), 10_000);
      await waitFor('ready again', async () => (await w.get('/readyz')).status === 200, SLOW, 200);
      appendFileSync(file, dockerLines('after', 300));
      await allDelivered(dir, 'down', 300);
      expect((await allDelivered(dir, 'after', 300)).every((r) => r.gen === '2')).toBe(true);

      // SIGTERM right after a write: exit 0, fluentd stopped with it, nothing of its group left.
      // What was not yet delivered (in fluentd's file buffer, or not yet read or acked) is
      // delivered after the next start on the same state_dir: nothing is lost across the stop.
      const last = (await w.json('/status')).child.pid as number;
      appendFileSync(file, dockerLines('stop', 2000));
      const { code } = await w.stop();
      expect(code).toBe(0);
      await waitFor("fluentd's group gone", () => !groupAlive(last), 5000);
      expect(alive(last)).toBe(false);
      const again = (scope.running = await startWarden(dir, wardenYaml(dir, fluentd, supervised, fwdPort, healthPort)));
      await waitFor('ready after the restart', async () => (await again.get('/readyz').catch(() => ({ status: 0 }))).status === 200, SLOW, 200);
      await allDelivered(dir, 'stop', 2000);
      expect((await again.stop()).code).toBe(0);
    });
  });

  // The destination is down longer than child.hang_timeout_s. fluentd's buffer fills to its
  // total_limit_size and `overflow_action block` holds back its acks: warden must wait (the files
  // on the node are the buffer), not restart a fluentd that only waits for its output. Buffer sizes
  // and the timeouts are scaled down (the shipped 1g buffer takes a long outage to fill); the rest
  // is the shipped fluent.conf and warden.yaml.
  it.skipIf(FLUENTDS.length === 0)('waits out a destination outage: a full buffer holds acks back, no restart, every line once when it returns', { timeout: 4 * SLOW }, async () => {
    const { dir, fwdPort, healthPort } = await peerCase('warden-peer-outage-');
    const destPort = await freePort();
    const file = join(dir, 'logs', 'c1', 'c1-json.log');
    mkdirSync(join(dir, 'logs', 'c1'), { recursive: true });
    // The pod bench's adaptation (out_forward with acks to the destination), its buffer scaled down.
    let conf = readFileSync(shippedFluentConf(dir, fwdPort, destPort), 'utf8');
    for (const [from, to] of [
      ['chunk_limit_size 8m', 'chunk_limit_size 16k'],
      ['total_limit_size 1g', 'total_limit_size 64k'],
      ['retry_max_interval 60s', 'retry_max_interval 1s'],
    ]) {
      if (!conf.includes(from)) throw new Error(`deploy/docker/fluent.conf no longer has ${JSON.stringify(from)}`);
      conf = conf.replace(from, to);
    }
    writeFileSync(join(dir, 'fluent.conf'), conf);
    const hangS = 8;
    const c = wardenYaml(dir, fluentd, false, fwdPort, healthPort);
    c.child.hang_timeout_s = hangS;
    const w = (scope.running = await startWarden(dir, c));
    await waitFor('ready', async () => (await w.get('/readyz').catch(() => ({ status: 0 }))).status === 200, SLOW, 200);
    // In rounds, as containers write: fluentd checks its limit before each write of a chunk, so a
    // single chunk may take it past the limit, the next one waits.
    const n = 4000;
    const round = 250;
    for (let i = 0; i < n; i += round) {
      appendFileSync(file, dockerLines(`out${i}`, round));
      await sleep(700);
    }
    // Well past the hang timeout with the buffer full: nothing restarted, the rest waits in the file.
    await sleep((3 * hangS + 5) * 1000);
    const acked = metricSum(parseMetrics((await w.get('/metrics')).body), 'warden_forward_records_acked_total');
    expect(acked, 'records fluentd acked while its output was down').toBeLessThan(n);
    // Its buffer at its limit (a write may pass it by one chunk), not the ~500 KiB written.
    const buffered = readdirSync(join(dir, 'fluentd-buffer')).reduce((a, f) => a + statSync(join(dir, 'fluentd-buffer', f)).size, 0);
    expect(buffered).toBeLessThan(128 * 1024);
    expect(w.stdout()).toContain('the child says its output cannot deliver: not restarted');
    const waiting = await w.json('/status');
    expect(waiting.child, JSON.stringify(waiting.child)).toMatchObject({ state: 'ready', restarts: 0 });
    expect(w.stdout()).not.toContain('restarting it as hung');

    const out = join(dir, 'dest.ndjson');
    const env = { ...process.env };
    delete env.WARDEN_FORWARD_SHARED_KEY;
    const dest = spawn(process.execPath, [WARDEN, 'sink', '--listen', `tcp://127.0.0.1:${destPort}`, '--out', out], { env, stdio: 'ignore' });
    try {
      const logs = await waitFor(`${n} lines at the destination`, () => {
        const l = sinkLogs(out).filter((x) => x.startsWith('out'));
        return new Set(l).size === n && l;
      }, SLOW, 500);
      expect(logs.length, 'duplicates at the destination').toBe(n);
      expect((await w.json('/status')).child.restarts).toBe(0);
    } finally {
      dest.kill('SIGTERM');
    }
  });

  // A backlog over many containers (a tag each, a chunk per tag): the shipped buffer lets every
  // chunk that is due into the send queue together. With fluentd's default queued_chunks_limit_size
  // (the flush thread count, 2) 2 chunks left per 0.5 s pass: 20 tags took about 5 s.
  it.skipIf(FLUENTDS.length === 0)('sends a backlog of 20 containers, a chunk each, out of its buffer together', { timeout: 2 * SLOW }, async () => {
    const { dir, fwdPort, healthPort } = await peerCase('warden-peer-tags-');
    const tags = 20;
    for (let c = 0; c < tags; c++) {
      mkdirSync(join(dir, 'logs', `c${c}`), { recursive: true });
      writeFileSync(join(dir, 'logs', `c${c}`, `c${c}-json.log`), dockerLines(`c${c}`, 200));
    }
    writeFileSync(join(dir, 'fluent.conf'), fluentConf(fwdPort, dir, '', true));
    scope.running = await startWarden(dir, wardenYaml(dir, fluentd, false, fwdPort, healthPort));
    let first = 0;
    await waitFor('the first records in the output', () => delivered(dir).length > 0 && (first = performance.now()), SLOW, 50);
    const out = await waitFor(`${tags * 200} lines in the output`, () => {
      const rows = delivered(dir);
      return new Set(rows.map((r) => r.log)).size === tags * 200 && rows;
    }, SLOW, 50);
    const spread = performance.now() - first;
    expect(new Set(out.map((r) => r.log.split('-')[0])).size).toBe(tags);
    // Chunks created across a second boundary are due a second apart; 2 a pass would take 4.5 s more.
    expect(spread, `${tags} chunks left fluentd over ${Math.round(spread)} ms`).toBeLessThan(3000);
  });
});
