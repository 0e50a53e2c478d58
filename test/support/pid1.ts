// Runs `node dist/warden.mjs run` as the first process of a new PID namespace (under tini, or as
// PID 1 itself) with the double-fork-orphan fixture as its child, and looks at the namespace's
// processes from the host's /proc (same processes, host pids).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../scripts/lib/util.js';
import { fixture, tempDir } from './fixtures.js';
import { allPids, procStat, type ProcStat } from './procfs.js';

export const DIST = resolve(process.env.WARDEN_TEST_DIST ?? 'dist/warden.mjs');

/** Why the PID-namespace tests cannot run here, or null when they can. */
export function pidNamespaceSkipReason(needTini: boolean): string | null {
  if (!existsSync(DIST)) return 'dist/warden.mjs is missing: run `npm run build` first';
  if (!/async function runWarden\(/.test(readFileSync(DIST, 'utf8'))) return 'dist/warden.mjs has no `run` command yet';
  if (process.getuid?.() !== 0) return 'needs root for `unshare --pid`';
  if (spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status !== 0) return '`unshare --pid --fork --mount-proc` is not available';
  if (needTini && spawnSync('sh', ['-c', 'command -v tini']).status !== 0) return 'tini is not installed (apt-get install -y tini)';
  return null;
}

export type NsProc = ProcStat;

export class PidNamespaceRun {
  private readonly tmp = tempDir('warden-pid1-');
  readonly dir = this.tmp.dir;
  readonly out: string[] = [];
  proc!: ChildProcess;
  exit!: Promise<number | null>;

  async start(withTini: boolean, orphanLifetimeMs: number): Promise<void> {
    const port = await freePort();
    const healthPort = await freePort();
    mkdirSync(join(this.dir, 'logs'));
    const cfg = join(this.dir, 'warden.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        node_name: 'pid1-test',
        state_dir: join(this.dir, 'state'),
        health: { listen: `127.0.0.1:${healthPort}` },
        inputs: [{ name: 't', paths: [join(this.dir, 'logs', '*.log')], format: 'plain' }],
        tail: { roots: [join(this.dir, 'logs')] },
        forward: { to: `tcp://127.0.0.1:${port}`, shared_key: 'none' },
        child: {
          command: [process.execPath, fixture('double-fork-orphan.mjs'), String(orphanLifetimeMs)],
          env: { PORT: String(port) },
          stop_grace_s: 2,
        },
      }),
    );
    const warden = [process.execPath, DIST, 'run', '--config', cfg];
    const argv = ['--pid', '--fork', '--mount-proc', ...(withTini ? ['tini', '-s', '--'] : []), ...warden];
    this.proc = spawn('unshare', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.proc.stdout!, this.proc.stderr!]) s.on('data', (d) => this.out.push(String(d)));
    this.exit = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }

  /** Host pid of the namespace's PID 1 (the process `unshare --fork` forked). */
  nsInit(): number | null {
    return allPids().find((pid) => procStat(pid)?.ppid === this.proc.pid) ?? null;
  }

  /** Every process of the namespace whose PID 1 has host pid `init`, by host pid. */
  members(init: number): NsProc[] {
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${init}/ns/pid`);
    } catch {
      return [];
    }
    const out: NsProc[] = [];
    for (const pid of allPids()) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/pid`) !== ns) continue;
      } catch {
        continue;
      }
      const st = procStat(pid);
      if (st) out.push(st);
    }
    return out;
  }

  /** The grandchild the fixture double-forked: its command line is the `setTimeout` one-liner. */
  isOrphanFixture(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('setTimeout(');
    } catch {
      return false;
    }
  }

  stateOf(pid: number): string | null {
    return procStat(pid)?.state ?? null;
  }

  cleanup(): void {
    if (this.proc && this.proc.exitCode === null) {
      const init = this.nsInit();
      if (init) process.kill(init, 'SIGKILL'); // the namespace dies with its PID 1
      this.proc.kill('SIGKILL');
    }
    this.tmp.cleanup();
  }
}
