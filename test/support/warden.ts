// Runs the real `warden` (dist/warden.mjs, built by `npm test`) as a child process of the test,
// with a config in a temp dir, and talks to it over its real health endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach } from 'vitest';
import { WARDEN } from './fixtures.js';
import { childrenOf } from './procfs.js';
import { sleep } from './wait.js';


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

/**
 * Per-test clean-up for tests that run warden, registered once per file: warden's last output when
 * the test failed, kill -9 of the warden under test with its children, SIGCONT of a process a test
 * stopped, deferred undo steps (unmount, close a squatting server), then removal of the temp dir.
 */
export function wardenScope<W extends RunningWarden = RunningWarden & { stdout: () => string }>() {
  const scope = {
    running: undefined as W | undefined,
    cleanup: undefined as (() => void) | undefined,
    stopped: undefined as number | undefined,
    deferred: [] as Array<() => unknown>,
  };
  afterEach(async (ctx) => {
    // A failed test shows what warden said: a timeout alone does not tell why nothing arrived.
    if (ctx.task.result?.state === 'fail' && scope.running) console.error(`warden's output, last 6 KiB:\n${scope.running.output().slice(-6144)}`);
    if (scope.stopped) {
      try {
        process.kill(scope.stopped, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await scope.running?.kill();
    for (const undo of scope.deferred.splice(0).reverse()) await undo();
    scope.cleanup?.();
    scope.running = scope.cleanup = scope.stopped = undefined;
  });
  return scope;
}

/**
 * Writes `config` (a plain object) as YAML in `dir` and starts `warden run` on it, with `wrapper`
 * (e.g. ['setpriv', …, '--'] or faketime) in front of node when given, and `nodeFlags` after
 * node. `output()` is stdout and stderr together; `stdout()` is warden's own JSON log alone,
 * unless `opts.stdout` is where warden's stdout goes instead.
 */
export function spawnWarden(
  dir: string,
  config: Record<string, unknown>,
  opts: { wrapper?: string[]; env?: Record<string, string>; nodeFlags?: string[]; stdout?: Writable } = {},
): RunningWarden & { stdout: () => string } {
  const cfgPath = join(dir, 'warden.yaml');
  writeFileSync(cfgPath, stringify(config));
  // Readable by an unprivileged warden started through a wrapper such as setpriv.
  chmodSync(cfgPath, 0o644);
  const argv = [...(opts.wrapper ?? []), process.execPath, ...(opts.nodeFlags ?? []), WARDEN, 'run', '--config', cfgPath];
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  proc.stdout?.on('data', (d) => {
    out += d;
    stdout += d;
  });
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const base = `http://${String((config.health as { listen?: string } | undefined)?.listen ?? '127.0.0.1:9880')}`;
  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.text() };
  };
  return {
    proc,
    base,
    output: () => out,
    stdout: () => stdout,
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

/** `spawnWarden` with extra environment, for tests that await their start. */
export async function startWarden(dir: string, config: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<RunningWarden & { stdout: () => string }> {
  return spawnWarden(dir, config, { env: extraEnv });
}

/** How `w` exited, or null when it still runs `ms` after the call: the wait for an exit the test caused (SIGTERM, a fatal error), bounded. */
export function exitWithin(w: Pick<RunningWarden, 'exited'>, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  return Promise.race([w.exited, sleep(ms).then(() => null)]);
}
