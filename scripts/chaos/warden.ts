// The warden under test: `node dist/warden.mjs run`, its stdout and stderr appended to
// `<dir>/warden.log` across restarts; `instance` counts the starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export class ChaosWarden {
  instance = 0;
  proc: ChildProcess | null = null;
  private readonly logFile: string;
  private readonly base: string;

  constructor(
    private readonly program: string,
    private readonly dir: string,
    private readonly cfgPath: string,
    healthPort: number,
  ) {
    this.logFile = join(dir, 'warden.log');
    this.base = `http://127.0.0.1:${healthPort}`;
  }

  start(): void {
    this.instance++;
    const p = spawn(process.execPath, [this.program, 'run', '--config', this.cfgPath], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => appendFileSync(this.logFile, d));
    p.stderr!.on('data', (d) => appendFileSync(this.logFile, d));
    this.proc = p;
  }

  /** The running process's pid, while it has not exited. */
  livePid(): number | undefined {
    return this.proc && this.proc.exitCode === null ? this.proc.pid : undefined;
  }

  /** kill -9, resolved once it has exited. */
  async kill9(): Promise<void> {
    const w = this.proc!;
    w.kill('SIGKILL');
    await new Promise((res) => (w.exitCode !== null || w.signalCode !== null ? res(null) : w.once('exit', res)));
  }

  async stop(): Promise<void> {
    const w = this.proc;
    w?.kill('SIGTERM');
    await new Promise((res) => (w && w.exitCode === null ? w.once('exit', res) : res(null)));
  }

  async get(path: string): Promise<any> {
    const res = await fetch(this.base + path, { signal: AbortSignal.timeout(2000) });
    return path === '/metrics' ? res.text() : res.json();
  }

  /** Resolves once /status lists `n` files (the first scan is done), or after `timeoutMs` (an error). */
  async tailing(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await this.get('/status')).files.length >= n) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`warden did not list ${n} files within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async childPid(): Promise<number | null> {
    try {
      return (await this.get('/status')).child.pid ?? null;
    } catch {
      return null;
    }
  }

  /** warden_child_restarts_total by reason, from /metrics ({} when it does not answer). */
  async restartsByReason(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    try {
      const metrics: string = await this.get('/metrics');
      for (const m of metrics.matchAll(/^warden_child_restarts_total\{reason="([^"]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
    } catch {
      return {};
    }
    return out;
  }
}
