// Soak and chaos run (issue 15 item 6's scenario): ~3,000 lines/s into one CRI file behind its
// /var/log/containers symlink (kubelet rotation, 0.log → 0.log.<ts>), one Docker file (-json.log →
// .1, older ones shifted) and one host file, each rotated every 512 KiB and rotated files never
// deleted, while the child is kill -9'd every ~4 s and warden itself is kill -9'd once (at 12 s)
// and restarted. At the end the sink's output is checked against a
// ledger of every line written: lost must be 0; duplicates are reported. warden's RSS and open
// descriptors are sampled over time and must not grow once steady. Descriptors on the log files
// are counted apart: a rotated file is held open until it is drained, so they rise with the
// backlog; once everything is delivered they must fall back to one per live file.
//
//   npm run chaos -- --minutes 2 [--rate 3000] [--seed 1] [--dir D]
//
// Exit 0 when nothing was lost and nothing grew; 1 otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { criLines, dockerLines } from './gen-logs.js';
import { freePort, rng, sleep } from './lib/util.js';

const ROOT = resolve(import.meta.dirname, '..');
const WARDEN = join(ROOT, 'dist/warden.mjs');

interface Source {
  key: string;
  kind: 'cri' | 'docker' | 'plain';
  /** The file the runtime writes to now. */
  path: string;
  seq: number;
  rotations: number;
  /** Bytes in the file the runtime writes to now. */
  bytes: number;
}

/** Rotation size of every source (kubelet's containerLogMaxSize, Docker's max-size). */
const ROTATE_BYTES = 512 * 1024;
const KILL_CHILD_EVERY_MS = 4000;
const KILL_WARDEN_AT_MS = 12_000;
/** How long warden stays down after its kill -9 (a pod restart takes seconds). */
const DOWN_MS = 5000;

interface Sample {
  t: number;
  instance: number;
  rssKiB: number;
  fds: number;
  /** Of fds, those open on files under the log inputs. */
  logFds: number;
}

export interface ChaosResult {
  seconds: number;
  written: number;
  delivered: number;
  lost: number;
  duplicates: number;
  lostExamples: string[];
  actions: Record<string, number>;
  rotations: number;
  restartsByReason: Record<string, number>;
  rss: { startKiB: number; endKiB: number; steadyMaxKiB: number; lateMaxKiB: number };
  fds: { start: number; end: number; steadyMax: number; lateMax: number };
  /** Descriptors other than log files: steady max → late max. */
  otherFds: { steadyMax: number; lateMax: number };
  /** Log-file descriptors once everything was delivered and rotated files settled, and the live files. */
  logFdsAfterDrain: { held: number; live: number };
  grew: boolean;
  ok: boolean;
}



function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function procStatusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Open descriptors of pid, and how many of them are on files under logRoot. */
function fdCount(pid: number, logRoot: string): { fds: number; logFds: number } {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { fds: 0, logFds: 0 };
  }
  let logFds = 0;
  for (const n of names) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${n}`).startsWith(logRoot + '/')) logFds++;
    } catch {}
  }
  return { fds: names.length, logFds };
}

export async function runChaos(opts: { minutes: number; rate: number; seed: number; dir?: string; log?: (s: string) => void }): Promise<ChaosResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`chaos: ${s}\n`));
  const r = rng(opts.seed);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'warden-chaos-'));
  const node = join(dir, 'node');
  const out = join(dir, 'out.ndjson');
  const healthPort = await freePort();
  const fwdPort = await freePort();
  const base = `http://127.0.0.1:${healthPort}`;

  // The tree: CRI behind /var/log/containers symlinks, Docker json-file, host logs.
  const sources: Source[] = [];
  for (let i = 0; i < 1; i++) {
    const podDir = join(node, 'var/log/pods', `chaos_pod${i}_${hex(r, 8)}-${hex(r, 4)}`, 'app');
    mkdirSync(podDir, { recursive: true });
    mkdirSync(join(node, 'var/log/containers'), { recursive: true });
    const path = join(podDir, '0.log');
    writeFileSync(path, '');
    symlinkSync(path, join(node, 'var/log/containers', `pod${i}_chaos_app-${hex(r, 64)}.log`));
    sources.push({ key: `cri${i}`, kind: 'cri', path, seq: 0, rotations: 0, bytes: 0 });
  }
  for (let i = 0; i < 1; i++) {
    const id = hex(r, 64);
    mkdirSync(join(node, 'var/lib/docker/containers', id), { recursive: true });
    const path = join(node, 'var/lib/docker/containers', id, `${id}-json.log`);
    writeFileSync(path, '');
    sources.push({ key: `dock${i}`, kind: 'docker', path, seq: 0, rotations: 0, bytes: 0 });
  }
  for (let i = 0; i < 1; i++) {
    const path = join(node, 'var/log', `host${i}.log`);
    writeFileSync(path, '');
    sources.push({ key: `host${i}`, kind: 'plain', path, seq: 0, rotations: 0, bytes: 0 });
  }

  const config = {
    node_name: 'chaos-node',
    state_dir: join(dir, 'state'),
    log: { level: 'info' },
    health: { listen: `127.0.0.1:${healthPort}` },
    inputs: [
      { name: 'containers', paths: [join(node, 'var/log/containers/*.log')], format: 'auto' },
      { name: 'docker', paths: [join(node, 'var/lib/docker/containers/*/*-json.log')], format: 'docker' },
      { name: 'host', paths: [join(node, 'var/log/*.log')], format: 'plain' },
    ],
    tail: {
      read_from: 'head',
      roots: [join(node, 'var/log'), join(node, 'var/lib/docker/containers')],
      rescan_interval_ms: 500,
      checkpoint_interval_ms: 200,
      partial_flush_ms: 2000,
    },
    forward: { to: `tcp://127.0.0.1:${fwdPort}`, flush_interval_ms: 50, batch_max_records: 1000, max_inflight_batches: 4, ack_timeout_s: 5 },
    child: {
      command: ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwdPort}`, '--out', out],
      stop_grace_s: 5,
      hang_timeout_s: 3,
      restart: { backoff_initial_ms: 200, backoff_max_ms: 2000, stable_after_s: 10 },
    },
    // The chaos run checks delivery under faults; budgets are exercised elsewhere.
    budgets: { cpu_action: 'none', child: { cpu_millicores: 4000, memory_mib: 2048 }, agent: { cpu_millicores: 4000, memory_mib: 2048 } },
  };
  const cfgPath = join(dir, 'warden.yaml');
  writeFileSync(cfgPath, stringify(config));

  let instance = 0;
  let warden: ChildProcess | null = null;
  const wardenLog = join(dir, 'warden.log');
  const startWarden = () => {
    instance++;
    const p = spawn(process.execPath, [WARDEN, 'run', '--config', cfgPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => appendFileSync(wardenLog, d));
    p.stderr!.on('data', (d) => appendFileSync(wardenLog, d));
    warden = p;
    return p;
  };
  const get = async (path: string): Promise<any> => {
    const res = await fetch(base + path, { signal: AbortSignal.timeout(2000) });
    return path === '/metrics' ? res.text() : res.json();
  };
  const childPid = async (): Promise<number | null> => {
    try {
      return (await get('/status')).child.pid ?? null;
    } catch {
      return null;
    }
  };

  // Writers: every 50 ms each source gets its share of the rate; some lines are long (split by
  // the runtime into partials), some writes stop mid-line and finish on the next tick.
  const perTick = Math.max(1, Math.round((opts.rate / 20) / sources.length));
  let written = 0;
  let rotations = 0;
  const pendingTail = new Map<string, string>();
  const writeTick = () => {
    for (const s of sources) {
      let chunk = pendingTail.get(s.key) ?? '';
      pendingTail.delete(s.key);
      for (let i = 0; i < perTick; i++) {
        const long = r() < 0.0005;
        const text = `${s.key}#${s.seq} ${long ? 'L'.repeat(20000 + Math.floor(r() * 20000)) : 'x'.repeat(80 + Math.floor(r() * 100))}`;
        s.seq++;
        written++;
        const ns = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(r() * 1e6));
        if (s.kind === 'cri') chunk += criLines(text, 'stdout', ns);
        else if (s.kind === 'docker') chunk += dockerLines(text, 'stdout', ns);
        else chunk += `${new Date().toISOString()} ${text}\n`;
      }
      // Occasionally leave the last line unfinished until the next tick (a write torn mid-line).
      if (r() < 0.1 && chunk.length > 40) {
        const cut = chunk.length - 1 - Math.floor(r() * 30);
        pendingTail.set(s.key, chunk.slice(cut));
        chunk = chunk.slice(0, cut);
      }
      appendFileSync(s.path, chunk);
      s.bytes += Buffer.byteLength(chunk);
      if (s.bytes >= ROTATE_BYTES) rotate(s);
    }
  };
  const rotate = (s: Source) => {
    const tail = pendingTail.get(s.key);
    if (tail) {
      appendFileSync(s.path, tail);
      pendingTail.delete(s.key);
    }
    s.rotations++;
    rotations++;
    if (s.kind === 'cri') {
      // kubelet: 0.log → 0.log.<timestamp>, a new 0.log (the /var/log/containers link stays).
      renameSync(s.path, `${s.path}.${Date.now()}-${s.rotations}`);
    } else if (s.kind === 'docker') {
      // Docker: shift .k → .k+1 (oldest first), -json.log → .1; nothing is deleted.
      for (let k = s.rotations - 1; k >= 1; k--) if (existsSync(`${s.path}.${k}`)) renameSync(`${s.path}.${k}`, `${s.path}.${k + 1}`);
      renameSync(s.path, `${s.path}.1`);
    } else {
      renameSync(s.path, `${s.path}.${s.rotations}`);
    }
    writeFileSync(s.path, '');
    s.bytes = 0;
  };

  const samples: Sample[] = [];
  const actions: Record<string, number> = { kill_child: 0, kill_warden: 0 };
  const deadline = Date.now() + opts.minutes * 60_000;
  const t0 = Date.now();
  startWarden();
  log(`dir ${dir}; ${opts.minutes} min at ~${opts.rate} lines/s`);

  const writer = setInterval(writeTick, 50);
  const sampler = setInterval(() => {
    const pid = warden?.pid;
    if (pid && warden!.exitCode === null) samples.push({ t: Date.now() - t0, instance, rssKiB: procStatusKiB(pid, 'VmRSS'), ...fdCount(pid, node) });
  }, 1000);
  // Faults: the child kill -9'd every ~4 s; warden kill -9'd once, at 12 s, and restarted.
  let nextChildKill = Date.now() + KILL_CHILD_EVERY_MS;
  let wardenKilled = false;
  while (Date.now() < deadline) {
    await sleep(250);
    if (!wardenKilled && Date.now() - t0 >= KILL_WARDEN_AT_MS) {
      wardenKilled = true;
      actions.kill_warden!++;
      log(`kill -9 warden (instance ${instance})`);
      const w = warden!;
      w.kill('SIGKILL');
      await new Promise((res) => (w.exitCode !== null || w.signalCode !== null ? res(null) : w.once('exit', res)));
      // Its child is now an orphan still holding the Forward port: kill it the way a container
      // runtime would tear the pod down, then start warden again. Writes and rotations go on
      // meanwhile: DOWN_MS covers a rotation of every file, so some are created, written and
      // rotated while warden is not looking.
      await sleep(DOWN_MS);
      killPort(fwdPort);
      startWarden();
      continue;
    }
    if (Date.now() < nextChildKill) continue;
    nextChildKill = Date.now() + KILL_CHILD_EVERY_MS - 500 + Math.floor(r() * 1000);
    const pid = await childPid();
    if (pid) {
      actions.kill_child!++;
      log(`kill -9 child ${pid}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  clearInterval(writer);
  // Finish torn lines so every ledger line is complete.
  for (const s of sources) {
    const tail = pendingTail.get(s.key);
    if (tail) appendFileSync(s.path, tail);
  }
  log(`writing stopped: ${written} lines; draining`);

  const want = new Map(sources.map((s) => [s.key, s.seq]));
  let delivered = new Map<string, number>();
  const drainDeadline = Date.now() + 90_000;
  for (;;) {
    delivered = await countDelivered(out);
    const missing = [...want].reduce((a, [k, n]) => a + countMissing(delivered, k, n), 0);
    if (missing === 0 || Date.now() > drainDeadline) break;
    await sleep(1000);
  }
  clearInterval(sampler);
  // Every line is delivered: rotated files are drained, so within a few housekeeping ticks (the
  // settle time is 1 s) only the live files stay open. More than that is a descriptor leak.
  const live = sources.length;
  let logFdsHeld = Infinity;
  for (const settleDeadline = Date.now() + 15_000; ; ) {
    const wp = (warden as ChildProcess | null)?.pid;
    logFdsHeld = wp ? fdCount(wp, node).logFds : 0;
    if (logFdsHeld <= live || Date.now() > settleDeadline) break;
    await sleep(500);
  }
  let restartsByReason: Record<string, number> = {};
  try {
    const metrics: string = await get('/metrics');
    for (const m of metrics.matchAll(/^warden_child_restarts_total\{reason="([^"]+)"\} (\d+)/gm)) restartsByReason[m[1]!] = Number(m[2]);
  } catch {
    restartsByReason = {};
  }
  const w = warden as ChildProcess | null;
  w?.kill('SIGTERM');
  await new Promise((res) => (w && w.exitCode === null ? w.once('exit', res) : res(null)));

  const lostExamples: string[] = [];
  let lost = 0;
  let duplicates = 0;
  let deliveredUnique = 0;
  for (const [k, n] of want) {
    for (let i = 0; i < n; i++) {
      const c = delivered.get(`${k}#${i}`) ?? 0;
      if (c === 0) {
        lost++;
        if (lostExamples.length < 10) lostExamples.push(`${k}#${i}`);
      } else {
        deliveredUnique++;
        duplicates += c - 1;
      }
    }
  }

  // Growth: within the longest-lived warden instance, compare its steady phase (after 20 s of
  // warm-up, first half) with its late phase (last quarter).
  const byInstance = new Map<number, Sample[]>();
  for (const s of samples) byInstance.set(s.instance, [...(byInstance.get(s.instance) ?? []), s]);
  const longest = [...byInstance.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  const warm = longest.filter((s) => s.t - longest[0]!.t >= 20_000);
  const half = warm.slice(0, Math.max(1, Math.floor(warm.length / 2)));
  const late = warm.slice(Math.floor((warm.length * 3) / 4));
  const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);
  const rss = {
    startKiB: samples[0]?.rssKiB ?? 0,
    endKiB: samples.at(-1)?.rssKiB ?? 0,
    steadyMaxKiB: max(half.map((s) => s.rssKiB)),
    lateMaxKiB: max(late.map((s) => s.rssKiB)),
  };
  const fds = { start: samples[0]?.fds ?? 0, end: samples.at(-1)?.fds ?? 0, steadyMax: max(half.map((s) => s.fds)), lateMax: max(late.map((s) => s.fds)) };
  const other = (xs: Sample[]) => max(xs.map((s) => s.fds - s.logFds));
  const otherFds = { steadyMax: other(half), lateMax: other(late) };
  const logFdsAfterDrain = { held: logFdsHeld, live };
  const grew =
    (warm.length >= 8 && (rss.lateMaxKiB > rss.steadyMaxKiB * 1.25 + 8192 || otherFds.lateMax > otherFds.steadyMax + 16)) ||
    logFdsAfterDrain.held > logFdsAfterDrain.live;
  const result: ChaosResult = {
    seconds: Math.round((Date.now() - t0) / 1000),
    written,
    delivered: deliveredUnique,
    lost,
    duplicates,
    lostExamples,
    actions,
    rotations,
    restartsByReason,
    rss,
    fds,
    otherFds,
    logFdsAfterDrain,
    grew,
    ok: lost === 0 && !grew,
  };
  if (!opts.dir && result.ok) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir} (warden.log, out.ndjson, state/)`);
  return result;
}

/** Kills whatever listens on 127.0.0.1:port (the orphaned child of a kill -9'd warden). */
function killPort(port: number): void {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
      }
    } catch {}
  }
  if (!inodes.size) return;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) {
          process.kill(-Number(pid), 'SIGKILL');
          break;
        }
      }
    } catch {}
  }
}

function readlinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

async function countDelivered(out: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  if (!existsSync(out)) return seen;
  const rl = createInterface({ input: createReadStream(out), crlfDelay: Infinity });
  for await (const line of rl) {
    const m = /"log":"(?:[^"]*? )?([a-z]+\d+#\d+) /.exec(line);
    if (m) seen.set(m[1]!, (seen.get(m[1]!) ?? 0) + 1);
  }
  return seen;
}

function countMissing(delivered: Map<string, number>, key: string, n: number): number {
  let missing = 0;
  for (let i = 0; i < n; i++) if (!delivered.has(`${key}#${i}`)) missing++;
  return missing;
}

export function formatChaos(res: ChaosResult): string {
  const rows: [string, string][] = [
    ['duration', `${res.seconds} s`],
    ['lines written', String(res.written)],
    ['lines delivered (unique)', String(res.delivered)],
    ['lost', String(res.lost) + (res.lostExamples.length ? ` (e.g. ${res.lostExamples.slice(0, 3).join(', ')})` : '')],
    ['duplicates', String(res.duplicates)],
    ['rotations', String(res.rotations)],
    ['kill -9 child', String(res.actions.kill_child)],
    ['kill -9 warden + restart', String(res.actions.kill_warden)],
    ['restarts by reason (last warden)', Object.entries(res.restartsByReason).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['warden RSS start → end', `${(res.rss.startKiB / 1024).toFixed(1)} → ${(res.rss.endKiB / 1024).toFixed(1)} MiB`],
    ['warden RSS steady max → late max', `${(res.rss.steadyMaxKiB / 1024).toFixed(1)} → ${(res.rss.lateMaxKiB / 1024).toFixed(1)} MiB`],
    ['warden fds start → end (steady → late max)', `${res.fds.start} → ${res.fds.end} (${res.fds.steadyMax} → ${res.fds.lateMax})`],
    ['  other than log files (steady → late max)', `${res.otherFds.steadyMax} → ${res.otherFds.lateMax}`],
    ['  on log files once all delivered', `${res.logFdsAfterDrain.held} (live files: ${res.logFdsAfterDrain.live})`],
    ['growth after warm-up', res.grew ? 'YES' : 'no'],
    ['verdict', res.ok ? 'ok' : 'FAILED'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

if (process.argv[1] && /chaos\.(ts|js|mjs)$/.test(process.argv[1])) {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '2' },
      rate: { type: 'string', default: '3000' },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      dir: { type: 'string' },
    },
  });
  if (!existsSync(WARDEN)) {
    process.stderr.write(`chaos: ${WARDEN} is missing; run npm run build first\n`);
    process.exit(2);
  }
  const res = await runChaos({ minutes: Number(values.minutes), rate: Number(values.rate), seed: Number(values.seed), dir: values.dir });
  process.stdout.write(`chaos run, seed ${values.seed}\n` + formatChaos(res));
  process.exit(res.ok ? 0 : 1);
}
