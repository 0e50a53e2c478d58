// A reload of the child: its check command's verdict on the new configuration, then the reload
// signal to its leader (never the group).
import { execa } from 'execa';
import type { Logger } from '../../core/log.js';
import { classifyExit } from '../exit-classify.js';
import { listProcs } from '../procfs/tree.js';
import { resolveCommand } from '../self-command.js';
import { identity, readStat } from '../procfs/stat.js';
import { HANDOVER_WINDOW_MS } from './handover.js';
import type { ShownCommand } from './options.js';
import { redact } from './redact.js';
import { isRunning, type Run } from './run-state.js';

export type ReloadResult = { ok: boolean; error?: string };

const CHECK_OUTPUT_TAIL = 4096;
const CHECK_TIMEOUT_S = 60;

/**
 * Runs the check command; null when it passed, else what went wrong with the tail of its output.
 * The command is named in its shown form only, its output with the values of its variables put
 * back as references, and execa's messages are never passed on: they hold the command line as
 * run, every variable expanded.
 */
export async function runCheck(check: ShownCommand, env: Record<string, string>, timeoutS = CHECK_TIMEOUT_S): Promise<string | null> {
  const shown = JSON.stringify(check.shown);
  try {
    const { file, args } = resolveCommand(check.run);
    const r = await execa(file, args, {
      reject: false,
      stdin: 'ignore',
      all: true,
      env,
      extendEnv: false,
      timeout: timeoutS * 1000,
      forceKillAfterDelay: 1000,
      maxBuffer: 1024 * 1024,
    });
    if (!r.failed) return null;
    const what = r.timedOut
      ? `timed out after ${timeoutS}s`
      : r.code
        ? `could not start (${r.code})`
        : r.exitCode === undefined && !r.signal
          ? `failed (${r.shortMessage})`
          : classifyExit({ code: r.exitCode ?? null, signal: r.signal ?? null }).reason;
    const out = typeof r.all === 'string' ? redact(r.all, check).slice(-CHECK_OUTPUT_TAIL).trim() : '';
    return `check command ${shown} ${what}${out ? `: ${out}` : ''}`;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `check command ${shown} could not start (${e.code ?? e.name})`;
  }
}

export interface SignalOptions {
  reloadSignal: NodeJS.Signals;
  procRoot?: string;
  logger: Logger;
  child: string;
  now: () => number;
}

/**
 * The reload signal to the run's leader; records the group as it was, for telling a successor
 * (handover) from an old member. A run that is not running takes the new config at its next start.
 */
export function signalReload(run: Run | null, o: SignalOptions, state: string): ReloadResult {
  if (!isRunning(run) || run.intent) {
    o.logger.info({ child: o.child, state }, 'reload: child not running; its next start uses the new configuration');
    return { ok: true };
  }
  // The leader only, never the group: fluentd's supervisor passes a reload on to its workers
  // itself (its docs: signal the supervisor only), and a worker signalled directly as well
  // would reload twice, or (SIGUSR2 on 1.18) each start a restart of its own.
  const leader = run.leader ?? { pid: run.pid, starttime: 0 };
  // A followed successor is not our child: its pid may be gone and reused before the poll notices.
  if (leader.pid !== run.pid && readStat(leader.pid, o.procRoot)?.starttime !== leader.starttime) return { ok: true };
  // While an earlier signal may still be handing over, its snapshot stays: the successor that
  // signal started is in the group now and must not count as an old member. The signal is sent
  // all the same (a child reloading in place takes each one) and again to a successor, if one
  // takes over (see reloadAgain).
  const pending = run.reloadedAt !== null && o.now() - run.reloadedAt <= HANDOVER_WINDOW_MS;
  const before = pending ? null : new Set(listProcs(o.procRoot).filter((p) => p.pgrp === run.pid).map(identity));
  try {
    process.kill(leader.pid, o.reloadSignal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return { ok: true }; // exiting: its exit handling takes over
    throw err;
  }
  if (before) {
    run.groupAtReload = before;
    run.reloadedAt = o.now();
  } else run.reloadAgain = true;
  o.logger.info({ child: o.child, child_pid: leader.pid, signal: o.reloadSignal }, 'reload signal sent to the child');
  return { ok: true };
}
