// Spawning the child as the leader of its own process group, and its pipes into warden's log.
import { execa, type ResultPromise } from 'execa';
import { BACKED_UP_PAUSE_MS, type ChildOutput } from '../child-output.js';
import type { ProcPlace } from '../procfs/stat.js';
import { resolveCommand } from '../self-command.js';
import { readStat } from '../procfs/stat.js';

/** Starts `command` with exactly `env`; throws when the command cannot even be resolved or spawned. */
export function spawnChild(command: string[], env: Record<string, string>): ResultPromise {
  const { file, args } = resolveCommand(command);
  return execa(file, args, {
    detached: true, // setsid(): the child leads its own process group, which is what we signal
    reject: false,
    buffer: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env,
    extendEnv: false,
    forceKillAfterDelay: false,
  });
}

/** The spawned process as /proc shows it, or what is known of it when /proc cannot say. */
export function spawnedLeader(pid: number, procRoot: string | undefined): ProcPlace {
  return readStat(pid, procRoot) ?? { pid, state: 'R', ppid: process.pid, pgrp: pid, starttime: 0 };
}

/** Both pipes into `output`, read as they come; only paused briefly while warden's log is backed up. */
export function pipeOutput(sub: ResultPromise, output: ChildOutput): Promise<void> {
  const closed: Promise<void>[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const readable = sub[name];
    if (!readable) continue;
    const stream = output.stream(name);
    readable.on('data', (chunk: Buffer | string) => {
      if (stream.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) return;
      readable.pause();
      setTimeout(() => readable.resume(), BACKED_UP_PAUSE_MS).unref();
    });
    readable.on('error', () => {});
    closed.push(
      new Promise<void>((resolve) =>
        readable.once('close', () => {
          stream.end();
          resolve();
        }),
      ),
    );
  }
  return Promise.all(closed).then(() => undefined);
}
