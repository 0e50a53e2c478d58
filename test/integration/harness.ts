// Runs the real `warden` (dist/warden.mjs, built by `npm test`) as a child process of the test,
// with a config in a temp dir, and talks to it over its real health endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitFor } from '../../scripts/lib/util.js';

export { freePort, waitFor };

export const ROOT = resolve(import.meta.dirname, '../..');
export const WARDEN = join(ROOT, 'dist/warden.mjs');



export function tempDir(prefix = 'warden-it-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningWarden {
  proc: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  get: (path: string) => Promise<{ status: number; body: string }>;
  json: (path: string) => Promise<any>;
  stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9 of warden and of its children's process groups, so no test leaves an orphan behind. */
  kill: () => Promise<void>;
}

/** kill -9 of a warden process and of its children's process groups. */
export async function killTree(proc: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const kids = childrenOf(proc.pid!);
  proc.kill('SIGKILL');
  await exited;
  for (const pid of kids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
  }
}

/** Pids whose parent is `ppid`, from /proc. */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Writes `config` (a plain object) as YAML in `dir` and starts `warden run` on it. */
export async function startWarden(dir: string, config: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<RunningWarden> {
  const cfgPath = join(dir, 'warden.yaml');
  writeFileSync(cfgPath, stringify(config));
  const proc = spawn(process.execPath, [WARDEN, 'run', '--config', cfgPath], {
    cwd: dir,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const listen = String((config.health as any)?.listen ?? '127.0.0.1:9880');
  const base = `http://${listen}`;
  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.text() };
  };
  return {
    proc,
    base,
    output: () => out,
    exited,
    get,
    json: async (path: string) => JSON.parse((await get(path)).body),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill: () => killTree(proc, exited),
  };
}

export function fixture(name: string): string {
  return join(ROOT, 'test/fixtures/children', name);
}

export function readNdjson(path: string): any[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** True while any process of the group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
