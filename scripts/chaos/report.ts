// The chaos run's result and its printed form, one `name  value` line per fact.
import type { Growth } from './growth.js';

export interface ChaosResult extends Growth {
  seconds: number;
  written: number;
  delivered: number;
  lost: number;
  duplicates: number;
  lostExamples: string[];
  actions: Record<string, number>;
  rotations: number;
  restartsByReason: Record<string, number>;
  ok: boolean;
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

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
    ['warden RSS start → end', `${mib(res.rss.startKiB)} → ${mib(res.rss.endKiB)} MiB`],
    ['warden RSS steady max → late max', `${mib(res.rss.steadyMaxKiB)} → ${mib(res.rss.lateMaxKiB)} MiB`],
    ['warden fds start → end (steady → late max)', `${res.fds.start} → ${res.fds.end} (${res.fds.steadyMax} → ${res.fds.lateMax})`],
    ['  other than log files (steady → late max)', `${res.otherFds.steadyMax} → ${res.otherFds.lateMax}`],
    ['  on log files once all delivered', `${res.logFdsAfterDrain.held} (live files: ${res.logFdsAfterDrain.live})`],
    ['growth after warm-up', res.grew ? 'YES' : 'no'],
    ['verdict', res.ok ? 'ok' : 'FAILED'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
